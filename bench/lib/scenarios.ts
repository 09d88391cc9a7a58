/**
 * Scenarios 1 to 3 of issue 10, the same for every system: each takes a factory, makes a fresh
 * system, measures, and closes it.
 *
 * @module
 */
import { deferred, now, quantile, sleep } from '../lib/stats.js'
import type { AdapterFactory } from './adapter.js'
import { SIZES } from './sizes.js'

export interface Measured {
  jobs: number
  ms: number
  p50?: number
  p99?: number
  note?: string
}

/** S1: sequential dispatches, each awaited; p50/p99 are per call. */
export async function dispatchOne(make: AdapterFactory): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const lat: number[] = []
    const deadline = now() + SIZES.dispatchOne.seconds * 1000
    const t0 = now()
    let i = 0
    for (; i < SIZES.dispatchOne.jobs && now() < deadline; i++) {
      const s = now()
      await a.dispatch(i)
      lat.push(now() - s)
    }
    return { jobs: i, ms: now() - t0, ...quantiles(lat), note: capNote(i, SIZES.dispatchOne.jobs, SIZES.dispatchOne.seconds) }
  } finally {
    await a.close()
  }
}

/** S1: dispatchMany of 1,000, repeated; p50/p99 are per call of 1,000. */
export async function dispatchMany(make: AdapterFactory): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const { calls, size, seconds } = SIZES.dispatchMany
    const lat: number[] = []
    const deadline = now() + seconds * 1000
    const t0 = now()
    let c = 0
    for (; c < calls && now() < deadline; c++) {
      const s = now()
      await a.dispatchMany(size, c * size)
      lat.push(now() - s)
    }
    const note = join('p50/p99 per call of 1,000', a.manyNote, capNote(c * size, calls * size, seconds))
    return { jobs: c * size, ms: now() - t0, ...quantiles(lat), note }
  } finally {
    await a.close()
  }
}

/** S2: pre-loads jobs (not timed), then times running them all at the concurrency. */
export async function processPreloaded(make: AdapterFactory, concurrency: number, jobs: number = SIZES.process.jobs): Promise<Measured> {
  const a = await make({ concurrency })
  try {
    for (let off = 0; off < jobs; off += 1000) await a.dispatchMany(Math.min(1000, jobs - off), off)
    const { seen, handler, all } = counter(jobs)
    const t0 = now()
    await a.start(handler)
    await Promise.race([all, sleep(SIZES.process.seconds * 1000)])
    await a.stop()
    const ms = now() - t0
    return { jobs: seen(), ms, note: capNote(seen(), jobs, SIZES.process.seconds) }
  } finally {
    await a.close()
  }
}

/** S3: one job at a time with a pause between: the time from calling dispatch to the handler. */
export async function latency(make: AdapterFactory): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    let started = deferred<number>()
    await a.start(() => started.resolve(now()))
    const lat: number[] = []
    const t0 = now()
    for (let i = 0; i < SIZES.latency.samples; i++) {
      started = deferred<number>()
      const s = now()
      await a.dispatch(i)
      lat.push((await started.promise) - s)
      await sleep(SIZES.latency.gapMs)
    }
    const ms = now() - t0
    await a.stop()
    return { jobs: lat.length, ms, ...quantiles(lat), note: `one job at a time, ${SIZES.latency.gapMs} ms apart` }
  } finally {
    await a.close()
  }
}

/** A handler that counts, and a promise that resolves at the n-th job. */
export function counter(n: number): { seen: () => number; handler: () => void; all: Promise<void> } {
  let count = 0
  const done = deferred()
  return {
    seen: () => count,
    handler: () => {
      if (++count === n) done.resolve()
    },
    all: done.promise,
  }
}

export function quantiles(samples: number[]): { p50?: number; p99?: number } {
  const p50 = quantile(samples, 0.5)
  const p99 = quantile(samples, 0.99)
  return { ...(p50 === undefined ? {} : { p50 }), ...(p99 === undefined ? {} : { p99 }) }
}

/** Says so when a run stopped at its time limit before its size. */
export function capNote(done: number, planned: number, seconds: number): string | undefined {
  return done < planned ? `stopped at the ${seconds} s limit: ${done.toLocaleString('en-US')} of ${planned.toLocaleString('en-US')}` : undefined
}

export function join(...parts: (string | undefined)[]): string | undefined {
  const kept = parts.filter((p): p is string => p !== undefined && p !== '')
  return kept.length > 0 ? kept.join('; ') : undefined
}
