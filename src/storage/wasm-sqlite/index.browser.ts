/**
 * `ferry/wasm-sqlite` under the `browser` export condition: the same API as `index.ts`, with
 * OPFS as the only file system, so that a browser bundle carries no Node code (and its bundler
 * warns of no Node module).
 *
 * @module ferry/wasm-sqlite
 */
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js'

export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js'
export { SqliteTransaction } from './transaction.js'
export type { SqlValue } from './transaction.js'
export { SCHEMA_TOO_NEW } from './schema.js'

/**
 * A Store over SQLite: in memory without a path; with one, an OPFS file (in a dedicated Worker
 * only: elsewhere opening it fails with a `StorageError` of code `OPFS_NEEDS_WORKER`).
 *
 * @example
 * // queue.worker.ts
 * const queue = createQueue({ store: sqliteStore({ path: 'jobs.db' }) })
 */
export function sqliteStore(o: SqliteStoreOptions = {}): SqliteStore {
  return createSqliteStore(o, async (path, synchronous) => (await import('./opfs.js')).openOpfs(path, synchronous))
}
