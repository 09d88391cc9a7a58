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

/**
 * Whether `p` settles within `ms`. Counted on `clock` and, whatever that clock does (a test's
 * manual clock may never move), in real time too.
 */
export async function settlesWithin(clock: Clock, ms: number, p: Promise<void>): Promise<boolean> {
  let handle: unknown
  let real: unknown
  const late = new Promise<boolean>((resolve) => {
    handle = clock.setTimeout(() => resolve(false), ms)
    if (clock !== systemClock) real = systemClock.setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([p.then(() => true), late])
  } finally {
    clock.clearTimeout(handle)
    if (real !== undefined) systemClock.clearTimeout(real)
  }
}
