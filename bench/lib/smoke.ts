/**
 * Smoke runs: every scenario at a tenth of its size, to check that the harness works without
 * running the benchmark. `BENCH_SMOKE=1 npm run bench` (or `bench:browser`); a smoke run's
 * numbers mean nothing, and it writes no results file.
 *
 * @module
 */

/** Sizes kept as they are: a batch's size, a chain's steps, latency gaps, the small queue. */
const KEEP = new Set(['size', 'steps', 'gapMs', 'small'])

/** The sizes with every count and time limit divided by ten (at least 1). */
export function smokeSizes<T>(sizes: T): T {
  const shrink = (v: unknown, key: string): unknown => {
    if (typeof v === 'number') return KEEP.has(key) ? v : Math.max(1, Math.round(v / 10))
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, KEEP.has(k) ? x : shrink(x, k)]))
    return v
  }
  return shrink(sizes, '') as T
}
