/**
 * The worker-host measurements, on the SQLite file store (synchronous=normal):
 *
 * - what one `dispatch` costs through `connectQueue` to a queue in a worker_thread, against a
 *   local `dispatch` on the same kind of store;
 * - the main thread's event-loop delay (`monitorEventLoopDelay`) while thousands of jobs are
 *   processed, by a worker_thread or by an engine on the main thread itself.
 *
 * @module
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { createQueue, job, type QueueLike } from '../../src/index.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import type { Row } from '../lib/result.js'
import { now, sleep } from '../lib/stats.js'
import { openStore } from './ferry.js'
import { FERRY_STORES, type FerryStore } from './names.js'
import { counter, quantiles } from '../lib/scenarios.js'
import { SIZES } from './sizes.js'

const STORE: FerryStore = 'file-normal'
const LOCAL = `ferry · local queue, ${FERRY_STORES[STORE].replace('ferry · ', '')}`
const REMOTE = `ferry · connectQueue to a worker_thread, ${FERRY_STORES[STORE].replace('ferry · ', '')}`

function hostWorker(dir: string): Worker {
  const entry = new URL('./worker-host.ts', import.meta.url).href
  return new Worker(new URL('../lib/ts-worker.mjs', import.meta.url), { workerData: { entry, store: STORE, dir } })
}

async function dispatchCost(q: Pick<QueueLike, 'counts'> & { dispatch: QueueClient['dispatch'] }): Promise<{ jobs: number; ms: number; p50?: number; p99?: number }> {
  await q.counts()
  // Warm-up, not timed: the JIT, the database's first pages.
  for (let i = 0; i < 200; i++) await q.dispatch(job('noop', { i: -i }))
  const lat: number[] = []
  const t0 = now()
  for (let i = 0; i < SIZES.workers.dispatches; i++) {
    const s = now()
    await q.dispatch(job('noop', { i }))
    lat.push(now() - s)
  }
  return { jobs: lat.length, ms: now() - t0, ...quantiles(lat) }
}

interface LoopDelay {
  ms: number
  p50: number
  p99: number
  note: string
}

/**
 * How late this thread's event loop runs while `work` runs: the delay of a 1 ms interval
 * timer (p50, p99, max), and `monitorEventLoopDelay`'s own histogram beside it. A loop that
 * never reaches its timers during the work shows as one huge gap.
 */
async function watchLoop(work: () => Promise<void>): Promise<LoopDelay> {
  const h = monitorEventLoopDelay({ resolution: 1 })
  const gaps: number[] = []
  let last = now()
  const ticker = setInterval(() => {
    const t = now()
    gaps.push(Math.max(0, t - last - 1))
    last = t
  }, 1)
  h.enable()
  const t0 = now()
  await work()
  const ms = now() - t0
  h.disable()
  clearInterval(ticker)
  gaps.push(Math.max(0, now() - last - 1))
  const q = quantiles(gaps)
  const hist = `monitorEventLoopDelay: ${h.count} samples, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`
  const note = `delay of a 1 ms timer: ${gaps.length} ticks in ${Math.round(ms)} ms, max ${Math.max(...gaps).toFixed(1)} ms; ${hist}`
  return { ms, p50: q.p50 ?? 0, p99: q.p99 ?? 0, note }
}

async function preload(q: { dispatchMany: QueueClient['dispatchMany'] }, n: number): Promise<void> {
  for (let off = 0; off < n; off += 1000) {
    await q.dispatchMany(Array.from({ length: Math.min(1000, n - off) }, (_, k) => job('noop', { i: off + k })))
  }
}

/** One dispatch, local and through `connectQueue` to a worker_thread. */
export async function workerDispatch(dir: string): Promise<Row[]> {
  const rows: Row[] = []
  const local = createQueue({ store: openStore(STORE, dir), concurrency: 8 })
  rows.push({ scenario: 'worker-dispatch', subject: LOCAL, kind: 'ferry', ...(await dispatchCost(local)), note: 'p50/p99 per dispatch call' })
  await local.close()

  const w1 = hostWorker(dir)
  const c1 = connectQueue(w1)
  rows.push({ scenario: 'worker-dispatch', subject: REMOTE, kind: 'ferry', compareTo: LOCAL, ...(await dispatchCost(c1)), note: 'p50/p99 per dispatch call' })
  await c1.close()
  await w1.terminate()
  return rows
}

/** The main thread's event-loop delay while jobs run on it, and while they run in a worker. */
export async function workerEventLoop(dir: string): Promise<Row[]> {
  const rows: Row[] = []
  const n = SIZES.workers.jobs
  const main = createQueue({ store: openStore(STORE, dir), concurrency: 8 })
  const { handler, all } = counter(n)
  main.register('noop', handler)
  await preload(main, n)
  const onMain = await watchLoop(async () => {
    await main.start()
    await all
    await main.stop()
  })
  await main.close()
  rows.push({ scenario: 'worker-eld', subject: `${LOCAL} (engine on the main thread)`, kind: 'ferry', jobs: n, ...onMain })

  const w2 = hostWorker(dir)
  const c2 = connectQueue(w2)
  await preload(c2, n)
  const inWorker = await watchLoop(async () => {
    await c2.resume()
    while ((await c2.counts()).succeeded < n) await sleep(20)
  })
  await c2.close()
  await w2.terminate()
  rows.push({
    scenario: 'worker-eld',
    subject: `${REMOTE} (engine in the worker)`,
    kind: 'ferry',
    compareTo: `${LOCAL} (engine on the main thread)`,
    jobs: n,
    ...inWorker,
    note: `${inWorker.note}; the main thread polls counts() every 20 ms`,
  })
  return rows
}
