/**
 * The real clock. Platform timers are read when called, never at import time.
 *
 * @module
 */
import type { Clock } from './types.js'

/** The longest delay timers accept (2^31 - 1 ms); longer waits are re-armed. */
export const MAX_TIMER_MS = 2_147_483_647

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.min(Math.max(0, ms), MAX_TIMER_MS)),
  clearTimeout: (h) => clearTimeout(h as Parameters<typeof clearTimeout>[0]),
}
