/**
 * Timing and summary statistics for the benchmarks.
 *
 * @module
 */

/** Milliseconds from a monotonic clock (`performance.now`, in Node and browsers alike). */
export function now(): number {
  return performance.now()
}

/** The q-quantile (0..1) of samples, by nearest rank; undefined when there are none. */
export function quantile(samples: readonly number[], q: number): number | undefined {
  if (samples.length === 0) return undefined
  const sorted = [...samples].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank]
}

/** Items per second. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0
}

/** Resolves after `ms` on the macrotask queue: lets timers and I/O run. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A promise with its resolver outside, for "resolve when the handler has seen n jobs". */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/**
 * A seeded generator of numbers in [0, 1) (mulberry32): every subject gets the same sequence,
 * so random pauses differ between samples but not between subjects.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
