/**
 * `ferry/wasm-sqlite`: the Store over SQLite WASM (`@sqlite.org/sqlite-wasm`), in memory, in a
 * durable file in Node, or in OPFS in a browser's dedicated Worker.
 *
 * This entry serves Node and any runtime without the `browser` export condition; it picks the
 * file system when a path is first opened. Browser bundles get `index.browser.ts`, the same
 * API without the Node file store.
 *
 * @module ferry/wasm-sqlite
 */
import { createSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite-store.js'

export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js'
export { SqliteTransaction } from './transaction.js'
export type { SqlValue } from './transaction.js'
export { SCHEMA_TOO_NEW } from './schema.js'

/**
 * A Store over SQLite: in memory without a path; with one, a durable file (Node) or an OPFS
 * file (a browser's dedicated Worker).
 *
 * @example
 * const queue = createQueue({ store: sqliteStore({ path: './jobs.db' }) })
 */
export function sqliteStore(o: SqliteStoreOptions = {}): SqliteStore {
  return createSqliteStore(o, async (path, synchronous) => {
    // Only Node loads the node:fs VFS; everything else is a browser, where OPFS is the file system.
    const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node
    if (node !== undefined) return (await import('./node-file.js')).openNodeFile(path, synchronous)
    return (await import('./opfs.js')).openOpfs(path, synchronous)
  })
}
