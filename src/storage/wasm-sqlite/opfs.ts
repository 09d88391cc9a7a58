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

/**
 * How long an open waits for the pool's files while another worker of the origin holds them.
 * When the tab hosting the queue closes, the next host's worker starts at once, while the
 * browser may still be tearing the old worker down: its handles go a moment later.
 */
export const OPFS_WAIT_MS = 10_000

/**
 * By default a failed install deletes the pool's directory, every database in it, and the
 * worker remembers the failure for good. The usual failure is another worker still holding the
 * files, so keep them and let a later install try again. (`forceReinitIfPreviouslyFailed` is
 * read by sqlite-wasm 3.54 but missing from its types.)
 */
const POOL_OPTIONS: Parameters<Sqlite3Static['installOpfsSAHPoolVfs']>[0] & { forceReinitIfPreviouslyFailed: boolean } = {
  name: OPFS_VFS,
  directory: `.${OPFS_VFS}`,
  preserveOnInitFailure: true,
  forceReinitIfPreviouslyFailed: true,
}

let pool: Promise<SAHPoolUtil> | undefined

/**
 * The files open in this worker. SQLite would refuse a second connection with SQLITE_BUSY
 * halfway through opening it; the caller is told what Node tells of a second store on one
 * file in one thread instead.
 */
const openFiles = new Set<string>()

/**
 * The pool of this worker, installed once. Exported for tests that clean up after themselves.
 * Rejects with `StoreLockedError` when another worker still holds the pool after `waitMs`.
 */
export function sahPool(sqlite3: Sqlite3Static, waitMs = OPFS_WAIT_MS): Promise<SAHPoolUtil> {
  pool ??= installPool(sqlite3, waitMs).catch((err: unknown) => {
    pool = undefined
    throw err
  })
  return pool
}

async function installPool(sqlite3: Sqlite3Static, waitMs: number): Promise<SAHPoolUtil> {
  const deadline = Date.now() + waitMs
  for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
    try {
      return await sqlite3.installOpfsSAHPoolVfs(POOL_OPTIONS)
    } catch (err) {
      // What `createSyncAccessHandle` throws while another handle is open on the file.
      const held = (err as { name?: unknown } | null)?.name === 'NoModificationAllowedError'
      if (!held) throw new StorageError(`the OPFS SQLite pool could not be opened: ${String(err)}`, { cause: err })
      if (Date.now() + pause > deadline) {
        throw new StoreLockedError(
          `the OPFS storage of this origin is in use by another tab or worker (still after ${waitMs} ms): ` +
            'one worker per origin hosts the queue (ferry/workers)',
          { cause: err },
        )
      }
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }
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
  const util = await sahPool(sqlite3)
  const name = file.startsWith('/') ? file : `/${file}`
  const where = `the OPFS SQLite store ${name}`
  if (openFiles.has(name)) {
    throw new StoreLockedError(`${where} is already open in this worker: close that store first, or share its queue`)
  }
  openFiles.add(name)
  let db: InstanceType<SAHPoolUtil['OpfsSAHPoolDb']>
  try {
    db = new util.OpfsSAHPoolDb(name)
  } catch (err) {
    openFiles.delete(name)
    throw err
  }
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
    openFiles.delete(name)
    db.close()
    throw err
  }
  return {
    sqlite3,
    db,
    where,
    close: () => {
      openFiles.delete(name)
      db.close()
    },
  }
}
