/**
 * Opening a durable database in the browser: the `opfs-sahpool` VFS, which keeps SQLite files
 * in the Origin Private File System through synchronous access handles. Those exist only in a
 * dedicated Worker, and the pool holds its files for one connection per origin (other tabs
 * reach the queue through the worker that hosts it: `ferry/workers`). It needs no COOP/COEP
 * headers. Like the Node file, it runs in WAL mode with exclusive locking: measured in headless
 * Chromium, ~150 one-job transactions per second against ~45 with a rollback journal.
 *
 * A full origin: the pool turns the browser's quota error into SQLITE_IOERR, which alone cannot
 * be told from another I/O error. The worker keeps the origin's usage and quota
 * (`navigator.storage.estimate()`), read again after each commit, and an I/O error while the
 * usage is within `QUOTA_MARGIN` of the quota, or while the browser refuses a write of that
 * many bytes to a probe file, is a `StorageFullError` (see `errors.ts`).
 *
 * @module
 */
import type { SAHPoolUtil } from '@sqlite.org/sqlite-wasm'
import { StorageError, StoreLockedError } from '../../core/errors.js'
import type { Connection } from './backend.js'
import { setQuotaCheck } from './errors.js'
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
 * Within this many bytes of its quota the origin counts as full: a write the probe makes of that
 * many bytes is refused, or the estimate says so.
 */
export const QUOTA_MARGIN = 1024 * 1024

/**
 * The origin's usage and quota as last estimated: read at open and after each commit, one
 * reading at a time (a commit during one asks for another after it).
 */
class OriginQuota {
  #usage: number | undefined
  #quota: number | undefined
  #reading = false
  #again = false

  refresh(): void {
    const storage = (globalThis.navigator as Navigator | undefined)?.storage
    if (typeof storage?.estimate !== 'function') return
    if (this.#reading) {
      this.#again = true
      return
    }
    this.#reading = true
    storage
      .estimate()
      .then((e) => {
        this.#usage = e.usage
        this.#quota = e.quota
      })
      .catch(() => undefined)
      .finally(() => {
        this.#reading = false
        if (this.#again) {
          this.#again = false
          this.refresh()
        }
      })
  }

  /**
   * At or past the quota: by the last estimate, or, since an estimate does not always know the
   * origin's quota (one set through the DevTools protocol is not in it), by the probe: a write
   * of `QUOTA_MARGIN` bytes the browser refuses. A new estimate is read for the next question.
   */
  reached(): boolean {
    const usage = this.#usage
    const quota = this.#quota
    this.refresh()
    if (usage !== undefined && quota !== undefined && usage >= quota - QUOTA_MARGIN) return true
    return this.#probe !== undefined && refuses(this.#probe)
  }

  #probe: SyncHandle | undefined
  #probing: Promise<void> | undefined

  /** Opens the probe file, once per worker; without it, only the estimate tells. */
  openProbe(): Promise<void> {
    this.#probing ??= (async () => {
      try {
        const storage = (globalThis.navigator as Navigator | undefined)?.storage
        if (typeof storage?.getDirectory !== 'function') return
        const root = await storage.getDirectory()
        const file = (await root.getFileHandle(QUOTA_PROBE, { create: true })) as unknown as { createSyncAccessHandle(): Promise<SyncHandle> }
        this.#probe = await file.createSyncAccessHandle()
        this.#probe.truncate(0)
      } catch {
        this.#probe = undefined
      }
    })()
    return this.#probing
  }
}

/** The part of `FileSystemSyncAccessHandle` the probe uses. */
interface SyncHandle {
  write(buffer: Uint8Array, options?: { at?: number }): number
  truncate(size: number): void
}

/** The file of the origin's OPFS that the probe writes to and empties at once. */
const QUOTA_PROBE = `.${OPFS_VFS}-quota-probe`

/** Whether the browser refuses a write of `QUOTA_MARGIN` bytes: less than that is left of the quota. Any other failure is not the quota's. */
function refuses(probe: SyncHandle): boolean {
  try {
    // Chromium refuses by writing less (its count may even wrap), not always by throwing.
    return probe.write(new Uint8Array(QUOTA_MARGIN), { at: 0 }) !== QUOTA_MARGIN
  } catch (err) {
    return (err as { name?: unknown } | null)?.name === 'QuotaExceededError'
  } finally {
    try {
      probe.truncate(0)
    } catch {
      // An empty probe stays as it is.
    }
  }
}

const quota = new OriginQuota()

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
    // What tells a full origin from another I/O error: the probe, and the usage, which grows
    // with each commit and is estimated again after each.
    await quota.openProbe()
    setQuotaCheck(() => quota.reached())
    quota.refresh()
    const refresh = (): number => {
      quota.refresh()
      return 0
    }
    sqlite3.capi.sqlite3_commit_hook(db.pointer as number, refresh, 0)
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
