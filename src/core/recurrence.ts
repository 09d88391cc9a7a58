/**
 * When a schedule's next occurrence falls. Cron expressions are read by `croner`; intervals
 * are counted from the schedule's previous occurrence so they do not drift.
 *
 * @module
 */
import { Cron } from 'croner'
import { InvalidArgumentError } from './errors.js'

export type When = string | { every: number }

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * The interval of an `@every 5m` string (units ms, s, m, h, d, combinable: `@every 1h30m`), or
 * undefined for anything else.
 */
function everyOf(when: string): number | undefined {
  const m = /^@every\s+((?:\d+(?:ms|s|m|h|d)\s*)+)$/.exec(when.trim())
  if (!m?.[1]) return undefined
  let ms = 0
  for (const [, n, unit] of m[1].matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * (UNITS[unit as string] as number)
  return ms
}

/** The interval in ms, when `when` is one. */
export function intervalOf(when: When): number | undefined {
  return typeof when === 'string' ? everyOf(when) : when.every
}

function cron(expr: string, timezone: string | undefined): Cron {
  try {
    return new Cron(expr, { paused: true, ...(timezone === undefined ? {} : { timezone }) })
  } catch (err) {
    throw new InvalidArgumentError(`not a cron expression: "${expr}" (${err instanceof Error ? err.message : String(err)})`, { cause: err })
  }
}

/**
 * One spelling per timing, so that writing the same timing another way is no change:
 * `'@every 5m'`, `'@every 300s'` and `{ every: 300_000 }` are one interval, and spacing does not
 * change a cron expression. A time zone counts only for cron expressions.
 */
export function timingKey(when: When, timezone: string | undefined): string {
  const every = intervalOf(when)
  if (every !== undefined) return JSON.stringify({ every })
  return JSON.stringify({ cron: (when as string).trim().split(/\s+/).join(' '), timezone: timezone ?? null })
}

/** Throws `InvalidArgumentError` when `when` or `timezone` cannot be used. */
export function checkWhen(when: When, timezone?: string): void {
  const every = intervalOf(when)
  if (every !== undefined) {
    if (!(every > 0) || !Number.isFinite(every)) throw new InvalidArgumentError(`an interval must be a positive number of ms, got ${every}`)
    return
  }
  if (typeof when !== 'string') throw new InvalidArgumentError('a schedule needs a cron expression or { every: ms }')
  try {
    cron(when, timezone).nextRun(new Date(0))
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err
    throw new InvalidArgumentError(`cannot use time zone "${String(timezone)}": ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/**
 * The first occurrence strictly after `after`. For an interval, occurrences fall on
 * `anchor + k * every`.
 */
export function nextOccurrence(when: When, timezone: string | undefined, after: number, anchor = after): number {
  const every = intervalOf(when)
  if (every !== undefined) {
    const k = Math.floor((after - anchor) / every) + 1
    return anchor + Math.max(1, k) * every
  }
  const next = cron(when as string, timezone).nextRun(new Date(after))
  // A pattern that never fires again (a date in the past) sleeps for good.
  return next ? next.getTime() : Number.MAX_SAFE_INTEGER
}

/**
 * The latest occurrence from `since` to `now`, both included, or undefined when there is none.
 * For an interval, occurrences fall on `anchor + k * every`. Walks a cron expression forward
 * from `since`, so keep the span short.
 */
export function latestOccurrence(when: When, timezone: string | undefined, since: number, now: number, anchor = since): number | undefined {
  const every = intervalOf(when)
  if (every !== undefined) {
    const latest = anchor + Math.floor((now - anchor) / every) * every
    return latest >= since && latest <= now ? latest : undefined
  }
  let latest = nextOccurrence(when, timezone, since - 1)
  if (latest > now) return undefined
  for (let next = nextOccurrence(when, timezone, latest); next <= now; next = nextOccurrence(when, timezone, next)) latest = next
  return latest
}
