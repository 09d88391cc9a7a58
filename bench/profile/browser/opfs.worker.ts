/**
 * The profiled run on SQLite on OPFS (synchronous=normal), in a dedicated Worker: the page
 * posts the run, the worker marks its window and posts the result back.
 *
 * @module
 */
import '../json-probe.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { sahPool } from '../../../src/storage/wasm-sqlite/opfs.js'
import { loadSqlite } from '../../../src/storage/wasm-sqlite/sqlite.js'
import { processForProfile } from '../run.js'
import { MARKS, type BrowserRun } from './marks.js'

self.onmessage = (e: MessageEvent<BrowserRun>) => {
  const { concurrency, jobs } = e.data
  const go = async () => {
    await (await sahPool(await loadSqlite())).reserveMinimumCapacity(16)
    if (jobs === 0) return { jobs: 0, ms: 0 }
    const store = sqliteStore({ path: `/ferry-profile-${Date.now()}.db`, synchronous: 'normal' })
    return processForProfile(store, { concurrency, jobs, seconds: 20 }, (at) => void performance.mark(MARKS[at]))
  }
  go().then(
    (run) => self.postMessage({ run }),
    (err: unknown) => self.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  )
}
