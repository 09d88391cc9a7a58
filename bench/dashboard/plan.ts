/**
 * What the dashboard benchmark loads and runs, shared by the driver, the page and the worker.
 *
 * @module
 */

/**
 * The store before the measurement: 100,000 jobs. The finished ones are dispatched and run by
 * the engine at full speed; the rest are dispatched with the engine stopped. Chains and batches
 * come in both: some finished, some still to run.
 */
export const SEED = {
  /** Plain jobs run to success, and run to failure (no retry), before the measurement. */
  succeeded: 44_100,
  failed: 4_900,
  /** Chains of `chainSteps`, finished before the measurement, and left waiting. */
  doneChains: 300,
  openChains: 200,
  chainSteps: 5,
  /** Batches of `batchSize`, finished before the measurement, and left waiting. */
  doneBatches: 10,
  openBatches: 10,
  batchSize: 200,
  /** Plain jobs left waiting, and delayed by `delayMs`. */
  waiting: 38_500,
  delayed: 6_000,
  delayMs: 6 * 3_600_000,
  /** Jobs per dispatchMany. */
  slice: 2_000,
} as const

export type SeedPlan = { -readonly [K in keyof typeof SEED]: number }

/**
 * The plan with its finished and delayed jobs scaled (`BENCH_SMOKE=1` loads a tenth of them, to
 * check the harness); the waiting jobs stay, so that the engine has work for every phase.
 */
export function seedPlan(scale = 1): SeedPlan {
  const s = (n: number) => Math.round(n * scale)
  return { ...SEED, succeeded: s(SEED.succeeded), failed: s(SEED.failed), delayed: s(SEED.delayed) }
}

export function seedTotal(p: SeedPlan): number {
  return p.succeeded + p.failed + (p.doneChains + p.openChains) * p.chainSteps + (p.doneBatches + p.openBatches) * p.batchSize + p.waiting + p.delayed
}

/** The job types of the store, as an application would have several. */
export const TYPES = ['email:send', 'image:resize', 'sync:push', 'report:build'] as const

/** While measuring, the engine finishes this many jobs per second; one in `failEvery` fails. */
export const RUN = { perSecond: 200, concurrency: 8, failEvery: 20 } as const

/** Seconds of each phase: settling in, then measured. */
export const PHASE = { warmupS: 5, measureS: 20, profileS: 5 } as const

/** A frame interval over this misses a 60 Hz frame; over `LONG_MS`, a frame is visibly dropped. */
export const FRAME_MS = 16.7
export const LONG_MS = 50
