/**
 * The bench page: runs one subject per call of `window.ferryBench.run(name)` and returns its
 * rows. IndexedDB subjects run here on the page; OPFS subjects in a dedicated Worker.
 *
 * @module
 */
import { idbStore } from '../../src/storage/idb/index.js'
import { AHEAD } from '../lib/claim-ahead.js'
import { batchScenario, chainsScenario, plainScenario, queueAdapter } from '../lib/ferry.js'
import type { Row } from '../lib/result.js'
import { runCommon } from '../lib/run-common.js'
import { IDB_FERRY, IDB_RAW, WORKBOX, claimAheadName } from './names.js'
import { rawIdb } from './raw-idb.js'
import { smokeSizes } from '../lib/smoke.js'
import { BROWSER_SIZES } from './sizes.js'
import { workbox } from './workbox.js'

/** `?smoke` in the page's address: a tenth of every size (see `lib/smoke.ts`). */
const SMOKE = new URLSearchParams(location.search).has('smoke')
const SIZES = SMOKE ? smokeSizes(BROWSER_SIZES) : BROWSER_SIZES

let dbs = 0
const made: string[] = []

const ferryStore = () => {
  const name = `ferry-bench-${Date.now()}-${dbs++}`
  made.push(name)
  return idbStore({ name })
}

/** Deletes the databases of the scenario that just ran. */
async function cleanup(): Promise<void> {
  console.info(`page: scenario done at ${Math.round(performance.now())} ms`)
  for (const name of made.splice(0)) {
    await new Promise<void>((resolve) => {
      const r = indexedDB.deleteDatabase(name)
      r.onsuccess = r.onerror = r.onblocked = () => resolve()
    })
  }
}

function inWorker(name: string): Promise<Row[]> {
  const worker = new Worker(new URL('./opfs.worker.ts', import.meta.url), { type: 'module' })
  return new Promise<Row[]>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ rows?: Row[]; error?: string }>) => {
      worker.terminate()
      if (e.data.rows) resolve(e.data.rows)
      else reject(new Error(e.data.error ?? 'the worker failed'))
    }
    worker.onerror = (e) => {
      worker.terminate()
      reject(new Error(e.message))
    }
    worker.postMessage({ name, smoke: SMOKE })
  })
}

/** The page's JS heap in MB (Chromium only; coarse without --enable-precise-memory-info). */
function heapMB(): number | undefined {
  const m = (performance as { memory?: { usedJSHeapSize: number } }).memory
  return m ? m.usedJSHeapSize / 2 ** 20 : undefined
}

function heapRow(): { rssMB?: number } {
  const mb = heapMB()
  return mb === undefined ? {} : { rssMB: mb }
}

/** Each scenario's row gets the heap right after it, then its databases are deleted. */
const measured = { memoryMB: heapMB, after: cleanup }

/**
 * Loads every module a subject may import, the worker's too, so that Vite's dependency
 * optimiser has seen them all before the first measurement (a late discovery reloads the page).
 */
async function warm(): Promise<void> {
  await import('workbox-background-sync')
  await inWorker('warm')
}

async function run(name: string): Promise<Row[]> {
  switch (name) {
    case 'ferry:idb': {
      const base = { subject: IDB_FERRY, kind: 'ferry' as const }
      const rows = await runCommon(base, queueAdapter(ferryStore), SIZES, measured)
      rows.push({ ...base, scenario: 'chains', ...(await chainsScenario(ferryStore, SIZES.chains)), ...heapRow() })
      await cleanup()
      rows.push({ ...base, scenario: 'batch', ...(await batchScenario(ferryStore, SIZES.batch)), ...heapRow() })
      await cleanup()
      rows.push({ ...base, scenario: 'plain', ...(await plainScenario(ferryStore, SIZES.plain)), ...heapRow() })
      await cleanup()
      return rows
    }
    case 'raw:idb':
      return runCommon({ subject: IDB_RAW, kind: 'raw', compareTo: IDB_FERRY }, rawIdb(), SIZES, measured)
    case 'raw:idb-ahead':
      return runCommon({ subject: claimAheadName(IDB_RAW, AHEAD), kind: 'raw', compareTo: IDB_FERRY }, rawIdb({ ahead: AHEAD }), SIZES, {
        ...measured,
        scenarios: ['process-c1', 'process-c8'],
      })
    case 'workbox':
      return runCommon({ subject: WORKBOX, kind: 'peer', compareTo: IDB_FERRY }, workbox, SIZES, measured)
    case 'ferry:opfs':
    case 'raw:opfs':
    case 'raw:opfs-ahead':
      return inWorker(name)
    default:
      throw new Error(`no browser subject ${name}`)
  }
}

declare global {
  interface Window {
    ferryBench: { run(name: string): Promise<Row[]>; warm(): Promise<void> }
  }
}

window.ferryBench = { run, warm }
