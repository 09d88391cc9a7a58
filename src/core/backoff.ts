/**
 * Retry delays.
 *
 * @module
 */
import type { Backoff } from './types.js'

/** The default of DESIGN §3: exponential from 1 s, capped at 5 min, with jitter. */
export const DEFAULT_BACKOFF: Backoff = { type: 'exponential', base: 1000, max: 300_000, jitter: true }
export const DEFAULT_RETRY = 3

// Far beyond any sensible delay, and safely inside what timers accept (2^31 - 1 ms).
const LONGEST = 2_000_000_000

/**
 * The wait before the retry that follows `attempt` (1-based). `random` in [0, 1) is drawn by
 * the caller so the result is reproducible. Jitter keeps between half and all of the delay, so
 * many jobs failing together do not retry together, and none retries at once.
 */
export function backoffDelay(b: number | Backoff, attempt: number, random: number): number {
  if (typeof b === 'number') return b
  if (b.type === 'fixed') return b.delay
  const raw = b.base * 2 ** Math.max(0, attempt - 1)
  const capped = Math.min(raw, b.max ?? LONGEST, LONGEST)
  return Math.round(b.jitter ? capped * (0.5 + random / 2) : capped)
}
