/**
 * A dedicated module Worker that holds one OPFS SQLite store for the failover test: the page
 * starts one after another on the same file, as the host tab of `shareQueue` does when the
 * previous host goes away, and asks each how many jobs it sees.
 */
import { createQueue, job, serializeError, type Queue } from '../../src/index.js'
import { sqliteStore, type SqliteStore } from '../../src/storage/wasm-sqlite/index.browser.js'
import { sahPool } from '../../src/storage/wasm-sqlite/opfs.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'

type Request =
  | { id: number; kind: 'load' }
  | { id: number; kind: 'open'; path: string }
  | { id: number; kind: 'add'; count: number }
  | { id: number; kind: 'count' }
  | { id: number; kind: 'drop' }

let open: { path: string; store: SqliteStore; queue: Queue<{ row: { n: number } }> } | undefined
let added = 0

function opened(): NonNullable<typeof open> {
  if (!open) throw new Error('no store is open in this worker')
  return open
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const req = e.data
  try {
    let result: unknown
    if (req.kind === 'load') {
      // Loading SQLite takes long enough that without it the old worker would be gone before
      // the new one first reaches for the file.
      await loadSqlite()
    } else if (req.kind === 'open') {
      const store = sqliteStore({ path: req.path })
      await store.open()
      open = { path: req.path, store, queue: createQueue({ store }) }
    } else if (req.kind === 'add') {
      const jobs = Array.from({ length: req.count }, () => job('row', { n: added++ }))
      await opened().queue.dispatchMany(jobs)
    } else if (req.kind === 'count') {
      result = (await opened().queue.counts()).waiting
    } else {
      // Closes the store and deletes its file from the pool.
      const { path, queue } = opened()
      await queue.close()
      const pool = await sahPool(await loadSqlite())
      pool.unlink(path.startsWith('/') ? path : `/${path}`)
    }
    self.postMessage({ id: req.id, ok: true, result })
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause
    self.postMessage({ id: req.id, ok: false, error: serializeError(err), cause: cause === undefined ? undefined : serializeError(cause) })
  }
}
self.postMessage({ ready: true })
