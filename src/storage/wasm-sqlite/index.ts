/**
 * `ferry/wasm-sqlite`: the Store over SQLite WASM (`@sqlite.org/sqlite-wasm`), in memory, in a
 * durable file in Node, or in OPFS in a browser's dedicated Worker.
 *
 * @module
 */
export { sqliteStore } from './sqlite-store.js'
export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js'
export { SqliteTransaction } from './transaction.js'
export type { SqlValue } from './transaction.js'
export { SCHEMA_TOO_NEW } from './schema.js'
