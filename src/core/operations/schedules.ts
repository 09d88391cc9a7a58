/**
 * Schedules: kept in the store, their due occurrences enqueued by whichever running engine
 * calls the store first once they are due (it need not be able to run them).
 *
 * An occurrence becomes a job whose id is `schedule:<name>:<occurrence time>`, and the
 * schedule's `nextRunAt` moves past it in the same transaction, so each occurrence is enqueued
 * once however many engines, tabs or processes share the store. Occurrences missed while
 * nothing ran are folded into one (`catchUp: 'once'`) or dropped (`'skip'`) but for the latest
 * when it is at most a minute late.
 *
 * @module
 */
import { NEVER, unreadableOf } from '../damaged.js'
import { latestOccurrence, nextOccurrence, timingKey } from '../recurrence.js'
import type { StoreTx } from '../store-backend.js'
import type { StoredSchedule } from '../store.js'
import { dispatched, newJob, type Changes } from '../transitions.js'

/** Schedules fired per call; the rest fire on the next one. */
const FIRE_LIMIT = 100

/** How late an occurrence may be and still count as on time for `catchUp: 'skip'`. */
export const SKIP_GRACE_MS = 60_000

/** Creates or replaces a schedule. One whose timing did not change keeps its next run. */
export async function putSchedule(tx: StoreTx, input: { now: number; schedule: StoredSchedule }): Promise<void> {
  const stored = await tx.getSchedule(input.schedule.name)
  // A damaged schedule is replaced as if there were none.
  const old = stored && unreadableOf(stored) === undefined ? stored : undefined
  const same = old && timingKey(old.when, old.timezone) === timingKey(input.schedule.when, input.schedule.timezone)
  await tx.putSchedule(
    old && same
      ? { ...input.schedule, nextRunAt: old.nextRunAt, createdAt: old.createdAt, ...(old.lastRunAt === undefined ? {} : { lastRunAt: old.lastRunAt }) }
      : { ...input.schedule, ...(old ? { createdAt: old.createdAt } : {}) },
  )
}

export async function deleteSchedule(tx: StoreTx, name: string): Promise<boolean> {
  if (!(await tx.getSchedule(name))) return false
  await tx.deleteSchedule(name)
  return true
}

/**
 * Enqueues the due occurrence of every schedule and moves each past `now`. Missed occurrences
 * are one run: the first of them with `catchUp: 'once'`; with `'skip'`, the latest if it is at
 * most `SKIP_GRACE_MS` late (one due just now, after the app was off for hours, still runs).
 */
export async function fireSchedules(tx: StoreTx, c: Changes): Promise<void> {
  for (const sc of await tx.dueSchedules(c.now, FIRE_LIMIT)) {
    const times = unreadableOf(sc) === undefined ? timesOf(sc, c.now) : undefined
    if (!times) {
      // Damaged: it never fires, and no longer comes due; the rest of it stays as stored.
      await tx.putSchedule({ ...sc, nextRunAt: NEVER })
      continue
    }
    const { occurrence, nextRunAt } = times
    if (occurrence !== undefined) {
      const id = `schedule:${sc.name}:${occurrence}`
      if (!(await tx.getJob(id))) {
        const j = newJob({ ...sc.job, id, runAt: c.now }, await tx.nextSeq(), c.now)
        await tx.putJob(j)
        dispatched(c, j)
      }
    }
    const lastRunAt = occurrence ?? sc.lastRunAt
    await tx.putSchedule({ ...sc, nextRunAt, ...(lastRunAt === undefined ? {} : { lastRunAt }) })
  }
}

/**
 * The occurrence a due schedule enqueues now and its next run; undefined when its timing
 * cannot be read (a cron expression or time zone changed in storage).
 */
function timesOf(sc: StoredSchedule, now: number): { occurrence: number | undefined; nextRunAt: number } | undefined {
  const first = sc.nextRunAt
  try {
    const occurrence = sc.catchUp === 'once' ? first : latestOccurrence(sc.when, sc.timezone, Math.max(first, now - SKIP_GRACE_MS), now, first)
    return { occurrence, nextRunAt: nextOccurrence(sc.when, sc.timezone, now, first) }
  } catch {
    return undefined
  }
}
