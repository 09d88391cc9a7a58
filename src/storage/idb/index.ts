/**
 * ferry/idb: the Store over IndexedDB (on the `idb` package), for browsers, Web Workers and
 * Electron renderers. Jobs live in a database ferry owns (`idbStore({ name })`), or beside the
 * application's own records in its database (`idbStore({ open })`, `upgradeFerryStores`), so
 * that a job can be dispatched in the same transaction as the data it is about.
 *
 * @module ferry/idb
 */
export { idbStore } from './idb-store.js'
export type { IdbStoreOptions } from './idb-store.js'
export { upgradeFerryStores } from './app-database.js'
export type { AppDatabase, AppTransaction } from './app-database.js'
export { SCHEMA_VERSION, ferryStoreNames } from './schema.js'
export type { IdbErrorCode } from './errors.js'
