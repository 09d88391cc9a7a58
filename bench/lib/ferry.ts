/**
 * ferry under test, on any store, in Node and in Chromium: the adapter the common scenarios
 * drive, and the scenarios only ferry has (chains, a batch with callbacks).
 *
 * @module
 */
import { createQueue, job, type Store } from '../../src/index.js'
import type { AdapterFactory, Handler } from './adapter.js'
import { capNote, counter, quantiles, type Measured } from './scenarios.js'
import { deferred, now } from './stats.js'

export function queueAdapter(makeStore: () => Store): AdapterFactory {
  return async ({ concurrency }) => {
    const q = createQueue({ store: makeStore(), concurrency })
    let handler: Handler = () => undefined
    q.register('noop', () => handler())
    // A store opens on first use (loading SQLite, taking the lock, migrating): do it here,
    // outside every timer, as the ceilings and the peers open their databases in their factories.
    await q.counts()
    return {
      dispatch: (i) => q.dispatch(job('noop', { i })),
      dispatchMany: (n, offset) => q.dispatchMany(Array.from({ length: n }, (_, k) => job('noop', { i: offset + k }))),
      start: async (h) => {
        handler = h
        await q.start()
      },
      stop: () => q.stop(),
      close: () => q.close(),
    }
  }
}

/** S4: the engine runs at concurrency 8 while the chains are dispatched. */
export async function chainsScenario(makeStore: () => Store, size: { chains: number; steps: number; seconds: number }): Promise<Measured> {
  const { chains: n, steps, seconds } = size
  const q = createQueue({ store: makeStore(), concurrency: 8 })
  const { seen, handler, all } = counter(n * steps, seconds)
  q.register('step', handler)
  try {
    await q.start()
    const t0 = now()
    const dispatched: Promise<string>[] = []
    for (let c = 0; c < n; c++) {
      dispatched.push(q.chain(...Array.from({ length: steps }, (_, s) => job('step', { c, s }))).dispatch())
    }
    await Promise.all(dispatched)
    const dispatchMs = now() - t0
    await all
    const ms = now() - t0
    const note = `steps/s, from the first dispatch (dispatching took ${Math.round(dispatchMs)} ms)`
    return { jobs: seen(), ms, note: [note, capNote(seen(), n * steps, seconds)].filter(Boolean).join('; ') }
  } finally {
    await q.close()
  }
}

/** S4: one batch of jobs with onProgress, onSuccess and onSettled callbacks. */
export async function batchScenario(makeStore: () => Store, size: { jobs: number; seconds: number }): Promise<Measured> {
  const { jobs, seconds } = size
  const q = createQueue({ store: makeStore(), concurrency: 8 })
  const { seen, handler, all: timeUp } = counter(Infinity, seconds)
  const succeeded = deferred()
  const settled = deferred()
  let progress = 0
  q.register('item', handler)
  q.register('progress', () => void progress++)
  q.register('done', () => succeeded.resolve())
  q.register('settled', () => settled.resolve())
  try {
    await q.start()
    const t0 = now()
    await q
      .batch(...Array.from({ length: jobs }, (_, i) => job('item', { i })))
      .onProgress(job('progress', {}))
      .onSuccess(job('done', {}))
      .onSettled(job('settled', {}))
      .dispatch()
    const dispatchMs = now() - t0
    await Promise.race([Promise.all([succeeded.promise, settled.promise]), timeUp])
    const ms = now() - t0
    const note = `from dispatch to onSettled (dispatch ${Math.round(dispatchMs)} ms); ${progress} onProgress callbacks ran`
    return { jobs: seen(), ms, note: [note, capNote(seen(), jobs, seconds)].filter(Boolean).join('; ') }
  } finally {
    await q.close()
  }
}


/**
 * S4's yardstick: the batch's and the chains' number of plain jobs, dispatched in one
 * dispatchMany while the engine runs at concurrency 8, timed from the dispatch to the last
 * handler, as the batch is.
 */
export async function plainScenario(makeStore: () => Store, size: { jobs: number; seconds: number }): Promise<Measured> {
  const { jobs, seconds } = size
  const q = createQueue({ store: makeStore(), concurrency: 8 })
  const { seen, handler, all } = counter(jobs, seconds)
  q.register('item', handler)
  try {
    await q.start()
    const t0 = now()
    await q.dispatchMany(Array.from({ length: jobs }, (_, i) => job('item', { i })))
    const dispatchMs = now() - t0
    await all
    const ms = now() - t0
    const note = `from dispatch to the last handler (dispatchMany ${Math.round(dispatchMs)} ms)`
    return { jobs: seen(), ms, note: [note, capNote(seen(), jobs, seconds)].filter(Boolean).join('; ') }
  } finally {
    await q.close()
  }
}

/**
 * S5: the first page of waiting jobs, as a dashboard asks for it, with `jobs` waiting (loaded
 * by dispatchMany of 5,000, not timed). p50/p99 per listJobs call.
 */
export async function listScenario(makeStore: () => Store, size: { jobs: number; calls: number; seconds: number }): Promise<Measured> {
  const { jobs, calls, seconds } = size
  const q = createQueue({ store: makeStore(), concurrency: 1 })
  q.register('noop', () => undefined)
  try {
    for (let off = 0; off < jobs; off += 5000) {
      await q.dispatchMany(Array.from({ length: Math.min(5000, jobs - off) }, (_, k) => job('noop', { i: off + k })))
    }
    const lat: number[] = []
    const deadline = now() + seconds * 1000
    const t0 = now()
    let listed = 0
    while (lat.length < calls && now() < deadline) {
      const s = now()
      listed = (await q.listJobs({ state: 'waiting', limit: 100 })).length
      lat.push(now() - s)
    }
    const note = `p50/p99 per call; ${jobs.toLocaleString('en-US')} waiting, ${listed} returned`
    return { jobs: lat.length, ms: now() - t0, ...quantiles(lat), note: [note, capNote(lat.length, calls, seconds)].filter(Boolean).join('; ') }
  } finally {
    await q.close()
  }
}
