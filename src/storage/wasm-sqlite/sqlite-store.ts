/**
 * The SQLite Store, whatever holds its file. One schema and one set of statements serve three
 * places, chosen by where it runs and whether a path is given:
 *
 * - no `path`: an in-memory database, anywhere (gone when the store closes);
 * - Node with a `path`: a durable file, through a VFS over `node:fs`, held by a lock file;
 * - a browser's dedicated Worker with a `path`: a durable file in OPFS (`opfs-sahpool`).
 *
 * The entry points give the opener of files: `index.ts` chooses Node's or OPFS at run time,
 * `index.browser.ts` (the `browser` export condition) knows only OPFS, so that browser bundles
 * carry no Node code.
 *
 * @module
 */
import { defineStore } from '../../core/define-store.js'
import { exclusiveLiveness } from '../../core/liveness.js'
import type { Store } from '../../core/store.js'
import { SqliteBackend, type Connection } from './backend.js'
import { migrate } from './schema.js'
import { loadSqlite } from './sqlite.js'
import type { SqliteTransaction } from './transaction.js'

export interface SqliteStoreOptions {
  /**
   * The database file. In Node a path on disk (a `<path>.lock` file sits beside it while it is
   * open); in a browser Worker a name in the Origin Private File System.
   * @default undefined (an in-memory database)
   */
  path?: string
  /**
   * `normal`: a commit is written to the WAL and synced at checkpoints; a power cut may lose
   * the last commits, never corrupt the file. `full`: every commit is synced before it is
   * acknowledged.
   * @default 'normal'
   */
  synchronous?: 'normal' | 'full'
}

export interface SqliteStore extends Store {
  /**
   * Opens the database now (it opens on first use otherwise): takes the lock, runs the
   * migrations. Rejects with `StoreLockedError` when another process has the file open, and
   * with a `StorageError` of code `SCHEMA_TOO_NEW` for a database of a newer ferry.
   */
  open(): Promise<void>
  /**
   * Runs `fn` in one transaction on ferry's connection. The application's own SQL
   * (`tx.exec`, `tx.query`) and every dispatch given `{ tx }` commit together when `fn`
   * resolves, and are all rolled back when it throws.
   *
   * Other calls on this store wait until the transaction ends, so inside `fn` use the store
   * only through `{ tx }`: a call without it would wait for the transaction it is part of.
   *
   * @example
   * await store.transaction(async (tx) => {
   *   tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', [id, total])
   *   await queue.dispatch(job('order:confirm', { id }), { tx })
   * })
   */
  transaction<T>(fn: (tx: SqliteTransaction) => Promise<T> | T): Promise<T>
}

/** Opens the durable database at `path`: a file on disk in Node, in OPFS in a browser. */
export type FileOpener = (path: string, synchronous: 'normal' | 'full') => Promise<Connection>

export function createSqliteStore(o: SqliteStoreOptions, openFile: FileOpener): SqliteStore {
  const { path, synchronous = 'normal' } = o
  const backend = new SqliteBackend(path === undefined ? openMemory : () => openFile(path, synchronous))
  // Open at once, so the lock is taken now; failures surface on the first call.
  backend.ready().catch(() => undefined)
  // Only this context reaches the database: the Node file behind its lock file, OPFS behind
  // its exclusive handles, memory. An engine that left a lease on it has ended.
  const store = defineStore(backend, { liveness: exclusiveLiveness() })
  // Added to the store itself, not to a copy: the store stays the one defineStore knows.
  const extra: Pick<SqliteStore, 'open' | 'transaction'> = {
    open: async () => {
      await backend.ready()
    },
    transaction: (fn) => backend.transaction(fn),
  }
  return Object.assign(store, extra)
}

async function openMemory(): Promise<Connection> {
  const sqlite3 = await loadSqlite()
  const db = new sqlite3.oo1.DB(':memory:', 'c')
  const where = 'the in-memory SQLite store'
  migrate(db, where)
  return { sqlite3, db, where, close: () => db.close() }
}
