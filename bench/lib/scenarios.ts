/**
 * Scenarios 1 to 3, the same for every system in Node and in Chromium: each takes a
 * factory, makes a fresh system, measures, and closes it.
 *
 * @module
 */
import { deferred, now, quantile, seededRandom, sleep } from './stats.js'
import type { AdapterFactory } from './adapter.js'

/** The sizes of scenarios 1 to 3: Node and Chromium each have theirs. */
export interface CommonSizes {
  dispatchOne: { jobs: number; seconds: number }
  dispatchMany: { calls: number; size: number; seconds: number }
  process: { jobs: number; seconds: number }
  /**
   * Pauses between samples are random in [min, max) ms: a system that polls is then caught at
   * every point of its poll interval, not always at the same one.
   */
  latency: { samples: number; gapMs: { min: number; max: number } }
}

export interface Measured {
  jobs: number
  ms: number
  p50?: number
  p99?: number
  note?: string
}

/** S1: sequential dispatches, each awaited; p50/p99 are per call. */
export async function dispatchOne(make: AdapterFactory, sizes: CommonSizes): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const lat: number[] = []
    const deadline = now() + sizes.dispatchOne.seconds * 1000
    const t0 = now()
    let i = 0
    for (; i < sizes.dispatchOne.jobs && now() < deadline; i++) {
      const s = now()
      await a.dispatch(i)
      lat.push(now() - s)
    }
    return { jobs: i, ms: now() - t0, ...quantiles(lat), note: capNote(i, sizes.dispatchOne.jobs, sizes.dispatchOne.seconds) }
  } finally {
    await a.close()
  }
}

/** S1: dispatchMany of 1,000, repeated; p50/p99 are per call of 1,000. */
export async function dispatchMany(make: AdapterFactory, sizes: CommonSizes): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const { calls, size, seconds } = sizes.dispatchMany
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
export async function processPreloaded(make: AdapterFactory, sizes: CommonSizes, concurrency: number): Promise<Measured> {
  const a = await make({ concurrency })
  try {
    // Loading stops at the time limit too: slow systems run what they loaded.
    const until = now() + sizes.process.seconds * 1000
    let jobs = 0
    while (jobs < sizes.process.jobs && now() < until) {
      const n = Math.min(1000, sizes.process.jobs - jobs)
      await a.dispatchMany(n, jobs)
      jobs += n
    }
    const { seen, handler, all } = counter(jobs, sizes.process.seconds)
    const t0 = now()
    await a.start(handler)
    await all
    await a.stop()
    const ms = now() - t0
    const loaded = jobs < sizes.process.jobs ? `loading stopped at the ${sizes.process.seconds} s limit: ${jobs.toLocaleString('en-US')} jobs` : undefined
    return { jobs: seen(), ms, note: join(loaded, a.processNote?.(), capNote(seen(), jobs, sizes.process.seconds)) }
  } finally {
    await a.close()
  }
}

/** S3: one job at a time with a pause between: the time from calling dispatch to the handler. */
export async function latency(make: AdapterFactory, sizes: CommonSizes): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const { samples, gapMs } = sizes.latency
    const random = seededRandom(1)
    let started = deferred<number>()
    await a.start(() => started.resolve(now()))
    const lat: number[] = []
    const t0 = now()
    for (let i = 0; i < samples; i++) {
      started = deferred<number>()
      const s = now()
      await a.dispatch(i)
      lat.push((await started.promise) - s)
      await sleep(gapMs.min + random() * (gapMs.max - gapMs.min))
    }
    const ms = now() - t0
    await a.stop()
    return { jobs: lat.length, ms, ...quantiles(lat), note: `one job at a time, ${gapMs.min}–${gapMs.max} ms apart at random` }
  } finally {
    await a.close()
  }
}

/**
 * S3's yardstick for a raw ceiling: its dispatch alone (one single-INSERT transaction), at the
 * light load and with the pauses of the latency scenario, so that "dispatch to handler start"
 * can be set against the one commit it cannot do without.
 */
export async function commitLatency(make: AdapterFactory, sizes: CommonSizes): Promise<Measured> {
  const a = await make({ concurrency: 1 })
  try {
    const { samples, gapMs } = sizes.latency
    const random = seededRandom(1)
    const lat: number[] = []
    const t0 = now()
    for (let i = 0; i < samples; i++) {
      const s = now()
      await a.dispatch(i)
      lat.push(now() - s)
      await sleep(gapMs.min + random() * (gapMs.max - gapMs.min))
    }
    return { jobs: lat.length, ms: now() - t0, ...quantiles(lat), note: `one commit at a time, ${gapMs.min}–${gapMs.max} ms apart at random` }
  } finally {
    await a.close()
  }
}

/**
 * A handler that counts, and a promise that resolves at the n-th job, or at the first job after
 * `seconds` have passed. The handler checks the time itself: an engine that never yields to
 * the event loop starves timers, so a timer alone would not stop the run.
 */
export function counter(n: number, seconds = Infinity): { seen: () => number; handler: () => void; all: Promise<void> } {
  let count = 0
  const deadline = now() + seconds * 1000
  const done = deferred()
  return {
    seen: () => count,
    handler: () => {
      if (++count === n || now() > deadline) done.resolve()
    },
    all: Number.isFinite(seconds) ? Promise.race([done.promise, sleep(seconds * 1000)]) : done.promise,
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
