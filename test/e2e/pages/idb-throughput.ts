/**
 * Throughput of the IndexedDB store on the page's real IndexedDB, driven by
 * test/e2e/idb-throughput.ts. Each measurement uses a fresh database.
 */
import { deleteDB } from 'idb'
import { createQueue, job, type Store } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

let n = 0
const fresh = (): string => `ferry-throughput-${Date.now()}-${++n}`

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t0 = performance.now()
  await fn()
  return performance.now() - t0
}

/** Dispatches `jobs` no-op jobs in one transaction, then runs them at `concurrency`. */
async function noop(jobs: number, concurrency: number) {
  const name = fresh()
  const queue = createQueue({ store: idbStore({ name }), concurrency })
  let done = 0
  let finish: () => void = () => undefined
  const all = new Promise<void>((resolve) => (finish = resolve))
  queue.register('noop', () => {
    if (++done === jobs) queueMicrotask(finish)
  })
  const dispatchMs = await timed(() => queue.dispatchMany(Array.from({ length: jobs }, (_, i) => job('noop', i))))
  const runMs = await timed(async () => {
    await queue.start()
    await all
  })
  await queue.close()
  await deleteDB(name)
  return { jobs, concurrency, dispatchManyPerSec: Math.round((jobs / dispatchMs) * 1000), runPerSec: Math.round((jobs / runMs) * 1000) }
}

/** One dispatch per transaction. */
async function singleDispatch(count: number) {
  const name = fresh()
  const queue = createQueue({ store: idbStore({ name }) })
  const ms = await timed(async () => {
    for (let i = 0; i < count; i++) await queue.dispatch(job('noop', i))
  })
  await queue.close()
  await deleteDB(name)
  return { count, dispatchPerSec: Math.round((count / ms) * 1000) }
}

/** Mean time of a claim of one job, on a database that also holds `finished` and `delayed` jobs. */
async function claimCost(finished: number, delayed: number, claims = 200) {
  const name = fresh()
  const store: Store = idbStore({ name })
  const now = Date.now()
  const base = { type: 't', queue: 'default', payload: { n: 1 }, priority: 0, maxAttempts: 1, backoff: 0 }
  for (let i = 0; i < finished; i += 2000) {
    const jobs = Array.from({ length: Math.min(2000, finished - i) }, (_, k) => ({ ...base, id: `f${i + k}`, type: 'f', runAt: now }))
    await store.insert({ now, jobs })
    await store.settleAndClaim({ now, settle: [], claim: { owner: 'o', token: `t${i}`, queues: ['default'], types: ['f'], limit: jobs.length, leaseUntil: now + 60_000 } })
      .then((out) => store.settleAndClaim({ now, settle: out.claimed.map((j) => ({ id: j.id, token: `t${i}`, outcome: { kind: 'succeeded' as const } })) }))
  }
  for (let i = 0; i < delayed; i += 2000) {
    const jobs = Array.from({ length: Math.min(2000, delayed - i) }, (_, k) => ({ ...base, id: `d${i + k}`, runAt: now + 86_400_000 }))
    await store.insert({ now, jobs })
  }
  await store.insert({ now, jobs: Array.from({ length: claims }, (_, k) => ({ ...base, id: `w${k}`, runAt: now })) })
  const ms = await timed(async () => {
    for (let i = 0; i < claims; i++) {
      await store.settleAndClaim({ now, settle: [], claim: { owner: 'o', token: `c${i}`, queues: ['default'], types: ['t'], limit: 1, leaseUntil: now + 60_000 } })
    }
  })
  const counts = await store.counts(now)
  await store.close()
  await deleteDB(name)
  return { finished: counts.succeeded, delayed: counts.delayed, claims, msPerClaim: Number((ms / claims).toFixed(2)) }
}

declare global {
  interface Window {
    throughput: { noop: typeof noop; singleDispatch: typeof singleDispatch; claimCost: typeof claimCost }
    e2eReady: boolean
  }
}

window.throughput = { noop, singleDispatch, claimCost }
window.e2eReady = true
