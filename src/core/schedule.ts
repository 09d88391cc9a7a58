/**
 * A schedule as `queue.schedule` writes it and `queue.listSchedules` shows it.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js'
import { checkWhen, intervalOf, nextOccurrence } from './recurrence.js'
import type { CallbackDraft, StoredSchedule } from './store.js'
import { unreadableOf } from './damaged.js'
import type { SerializedError } from './types.js'

export interface ScheduleOptions {
  /** IANA time zone of a cron expression; daylight-saving changes follow `croner`. @default local time */
  timezone?: string
  /**
   * Occurrences missed while no engine ran (the app closed, the laptop asleep): `'once'`
   * enqueues one on wake, `'skip'` drops those more than a minute late.
   * @default 'once'
   */
  catchUp?: 'once' | 'skip'
}

export interface ScheduleInfo {
  name: string
  when: string | { every: number }
  timezone?: string
  catchUp: 'once' | 'skip'
  type: string
  queue: string
  payload: unknown
  nextRunAt: number
  lastRunAt?: number
  /**
   * Set when the stored schedule cannot be read (`CORRUPT_RECORD`: it never fires; `unschedule`
   * removes it, `schedule` replaces it) or its payload cannot be decoded (`DECODE_FAILED`).
   */
  unreadable?: SerializedError
}

/** Checks the arguments of `queue.schedule` and makes the record to store. */
export function newSchedule(name: string, when: string | { every: number }, job: CallbackDraft, opts: ScheduleOptions, now: number): StoredSchedule {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError('a schedule needs a name')
  const catchUp = opts.catchUp ?? 'once'
  if (catchUp !== 'once' && catchUp !== 'skip') throw new InvalidArgumentError(`catchUp must be 'once' or 'skip', got ${String(catchUp)}`)
  checkWhen(when, opts.timezone)
  const every = intervalOf(when)
  const schedule: StoredSchedule = {
    name,
    when: typeof when === 'string' ? when : { every: when.every },
    catchUp,
    job,
    nextRunAt: every === undefined ? nextOccurrence(when, opts.timezone, now) : now + every,
    createdAt: now,
    updatedAt: now,
  }
  if (opts.timezone !== undefined) schedule.timezone = opts.timezone
  return schedule
}

export function scheduleInfo(sc: StoredSchedule): ScheduleInfo {
  const info: ScheduleInfo = {
    name: sc.name,
    when: sc.when,
    catchUp: sc.catchUp,
    type: sc.job.type,
    queue: sc.job.queue,
    payload: sc.job.payload,
    nextRunAt: sc.nextRunAt,
  }
  if (sc.timezone !== undefined) info.timezone = sc.timezone
  if (sc.lastRunAt !== undefined) info.lastRunAt = sc.lastRunAt
  const unreadable = unreadableOf(sc)
  if (unreadable !== undefined) info.unreadable = unreadable
  return info
}
