/**
 * How big each scenario is. The planned sizes, except where a cap keeps a full run of
 * `npm run bench` under about ten minutes on a 2-core machine: a capped run stops at its time
 * limit and its row says how many jobs it did.
 *
 * @module
 */
import { smokeSizes } from '../lib/smoke.js'

/** `BENCH_SMOKE=1`: a tenth of every size (see `lib/smoke.ts`). */
export const SMOKE = process.env['BENCH_SMOKE'] === '1'

const FULL = {
  /** S1: sequential dispatches, up to this many or this long. */
  dispatchOne: { jobs: 20_000, seconds: 3 },
  /** S1: calls of dispatchMany with 1,000 jobs each. */
  dispatchMany: { calls: 20, size: 1_000, seconds: 5 },
  /** S2: pre-loaded jobs processed, with a time limit per run. */
  process: { jobs: 20_000, seconds: 20 },
  /** S3: one job at a time, a pause between them: light load. */
  latency: { samples: 300, gapMs: { min: 0, max: 20 } },
  /** S4: chains and steps; the batch's size. */
  chains: { chains: 1_000, steps: 10, seconds: 20 },
  batch: { jobs: 10_000, seconds: 20 },
  /** S4's yardstick: as many plain jobs as the chains have steps and the batch has jobs. */
  plain: { jobs: 10_000, seconds: 20 },
  /** S5: waiting jobs, and how many are processed to measure the claim rate. */
  scale: { small: 1_000, large: 1_000_000, processed: 10_000 },
  /** S5: jobs waiting, listJobs calls timed (up to this many or this long). */
  list: { jobs: 100_000, calls: 50, seconds: 10 },
  /** Workers: sequential dispatches; jobs processed while the event loop is watched. */
  workers: { dispatches: 2_000, jobs: 10_000 },
} as const

export const SIZES = SMOKE ? smokeSizes(FULL) : FULL
