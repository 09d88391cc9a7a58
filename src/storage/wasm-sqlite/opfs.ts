/**
 * Opening a durable database in the browser: the `opfs-sahpool` VFS, which keeps SQLite files
 * in the Origin Private File System through synchronous access handles. Those exist only in a
 * dedicated Worker, and the pool holds its files for one connection per origin (other tabs
 * reach the queue through the worker that hosts it: `ferry/workers`). It needs no COOP/COEP
 * headers. Like the Node file, it runs in WAL mode with exclusive locking: measured in headless
 * Chromium, ~150 one-job transactions per second against ~45 with a rollback journal.
 *
 * @module
 */
import type { SAHPoolUtil } from '@sqlite.org/sqlite-wasm'
import { StorageError, StoreLockedError } from '../../core/errors.js'
import type { Connection } from './backend.js'
import { assertKnownVersion, migrate } from './schema.js'
import { loadSqlite, type Sqlite3Static } from './sqlite.js'

/** The pool's name and its directory in OPFS. */
export const OPFS_VFS = 'ferry-opfs'

let pool: Promise<SAHPoolUtil> | undefined

/** The pool of this worker, installed once. Exported for tests that clean up after themselves. */
export function sahPool(sqlite3: Sqlite3Static): Promise<SAHPoolUtil> {
  pool ??= sqlite3.installOpfsSAHPoolVfs({ name: OPFS_VFS, directory: `.${OPFS_VFS}` }).catch((err: unknown) => {
    pool = undefined
    throw err
  })
  return pool
}

/** Throws unless this code runs in a dedicated Worker, the only place OPFS SQLite can. */
export function assertDedicatedWorker(file: string): void {
  const scope = (globalThis as { DedicatedWorkerGlobalScope?: abstract new () => unknown }).DedicatedWorkerGlobalScope
  if (scope !== undefined && globalThis instanceof scope) return
  const place = typeof (globalThis as { document?: unknown }).document !== 'undefined' ? "a page's main thread" : 'this context'
  throw new StorageError(
    `sqliteStore({ path: '${file}' }) cannot open an OPFS file on ${place}: SQLite on OPFS needs a dedicated Worker. ` +
      "Host the queue in a worker with exposeQueue from 'ferry/workers' and talk to it with connectQueue, " +
      'or use sqliteStore() without a path (in memory) or idbStore() here.',
    { code: 'OPFS_NEEDS_WORKER' },
  )
}

export async function openOpfs(file: string, synchronous: 'normal' | 'full'): Promise<Connection> {
  assertDedicatedWorker(file)
  const sqlite3 = await loadSqlite()
  let util: SAHPoolUtil
  try {
    util = await sahPool(sqlite3)
  } catch (err) {
    throw new StoreLockedError(
      'the OPFS storage of this origin is in use by another tab or worker: one worker per origin hosts the queue (ferry/workers)',
      { cause: err },
    )
  }
  const name = file.startsWith('/') ? file : `/${file}`
  const where = `the OPFS SQLite store ${name}`
  const db = new util.OpfsSAHPoolDb(name)
  try {
    // As in Node: WAL without shared memory needs the connection to hold the file exclusively
    // (the pool allows one connection anyway). A commit then appends to the WAL instead of
    // writing and syncing a rollback journal and the database.
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    assertKnownVersion(db, where)
    const mode = db.selectValue('PRAGMA journal_mode = WAL', undefined, sqlite3.capi.SQLITE_TEXT)
    if (mode !== 'wal') throw new StorageError(`${where}: journal_mode=WAL did not take (SQLite kept ${mode ?? 'nothing'})`)
    db.exec(`PRAGMA synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864`)
    migrate(db, where)
  } catch (err) {
    db.close()
    throw err
  }
  return { sqlite3, db, where, close: () => db.close() }
}
