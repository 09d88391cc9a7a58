/**
 * Chain, batch and schedule records that cannot be read as they were written (a damaged file,
 * a record changed by hand): each is read from what is left, with the fields the engine needs
 * filled in and `unreadable` saying what is wrong (code `CORRUPT_RECORD`), so that one such
 * record never stops the engine. The rules then leave it alone: a damaged schedule never fires
 * (its next run is moved to `NEVER`), a damaged chain or batch does not move when its jobs
 * finish, and finding one is a `SerializationError`.
 *
 * A backend marks what it reads with `readChain`, `readBatch` and `readSchedule`, passing the
 * form it read (`stored`): when a damaged record is written back, the backend writes that form
 * again (see `storedForm`), so nothing of what is left is lost.
 *
 * @module
 */
import { SerializationError } from './errors.js'
import type { StoredBatch, StoredChain, StoredSchedule } from './store.js'
import type { SerializedError } from './types.js'

export const CORRUPT_RECORD = 'CORRUPT_RECORD'

/** The next run of a damaged schedule: the latest time a `Date` can hold. */
export const NEVER = 8_640_000_000_000_000

/** What a damaged record carries, as `StoredJob`, `StoredChain`, `StoredBatch` and `StoredSchedule` do. */
export type Unreadable = Pick<StoredSchedule, 'unreadable'>

const STORED = Symbol('stored form')

type Marked<T extends Unreadable> = T & { [STORED]?: unknown }

/** The form a damaged record was read from, for the backend to write it back as it was. */
export function storedForm(record: object): unknown {
  return (record as { [STORED]?: unknown })[STORED]
}

/** The `unreadable` of a record read by a backend, if it is damaged. */
export function unreadableOf(record: object): SerializedError | undefined {
  return (record as Unreadable).unreadable
}

/** A record without its `unreadable`, as it is written. */
export function withoutMark<T extends object>(record: T): T {
  if (!('unreadable' in record)) return record
  const { unreadable: _, ...rest } = record as T & Unreadable
  return rest as T
}

/** The error that reading a damaged record in full is. */
export function corruptError(record: object): SerializationError | undefined {
  const u = unreadableOf(record)
  return u && new SerializationError(u.message, { code: CORRUPT_RECORD })
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v)
const GROUP_STATES = new Set(['running', 'succeeded', 'failed', 'cancelled'])

/**
 * Fills what the record lacks with `fill`'s values, names what was missing, and marks the
 * record when anything was. `notObject` is why the stored form was no record at all.
 */
function mark<T extends Unreadable>(
  kind: string,
  key: string,
  data: unknown,
  checks: [field: string, ok: (v: unknown) => boolean, fallback: unknown][],
  stored: unknown,
  notObject?: string,
): Marked<T> {
  const r: Record<string, unknown> = isObject(data) ? data : {}
  const missing: string[] = []
  for (const [field, ok, fallback] of checks) {
    if (!ok(r[field])) {
      missing.push(field)
      r[field] = fallback
    }
  }
  const why = notObject ?? (isObject(data) ? undefined : 'it is not a record')
  if (why === undefined && missing.length === 0) return r as Marked<T>
  const out = r as Marked<T>
  out.unreadable = {
    name: 'SerializationError',
    code: CORRUPT_RECORD,
    message: `the stored record of ${kind} ${key} is damaged (${why ?? `${missing.join(', ')} missing or of the wrong type`}): it is left as it is`,
  }
  Object.defineProperty(out, STORED, { value: stored, enumerable: true, configurable: true, writable: true })
  return out
}

/**
 * A chain as read: `data` holds its fields (`undefined` when its stored form did not parse,
 * `why` saying so). `id`, and `state` when given, come from the backend's key and columns.
 */
export function readChain(id: string, data: unknown, stored: unknown, why?: string): Marked<StoredChain> {
  const c = mark<StoredChain>(
    'chain',
    id,
    data,
    [
      ['state', (v) => typeof v === 'string' && GROUP_STATES.has(v), 'running'],
      ['jobIds', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), []],
      ['current', isNumber, 0],
      ['createdAt', isNumber, 0],
      ['callbacks', isObject, {}],
    ],
    stored,
    why,
  )
  c.id = id
  return c
}

export function readBatch(id: string, data: unknown, stored: unknown, why?: string): Marked<StoredBatch> {
  const b = mark<StoredBatch>(
    'batch',
    id,
    data,
    [
      ['state', (v) => typeof v === 'string' && GROUP_STATES.has(v), 'running'],
      ['total', isNumber, 0],
      ['pending', isNumber, 0],
      ['succeeded', isNumber, 0],
      ['failed', isNumber, 0],
      ['cancelled', isNumber, 0],
      ['createdAt', isNumber, 0],
      ['allowFailures', (v) => typeof v === 'boolean', false],
      ['progressCount', isNumber, 0],
      ['callbacks', isObject, {}],
    ],
    stored,
    why,
  )
  b.id = id
  return b
}

const isWhen = (v: unknown): boolean => (typeof v === 'string' && v !== '') || (isObject(v) && isNumber(v['every']) && v['every'] > 0)
const isDraft = (v: unknown): boolean => isObject(v) && typeof v['type'] === 'string' && v['type'] !== '' && typeof v['queue'] === 'string'

export function readSchedule(name: string, data: unknown, stored: unknown, why?: string): Marked<StoredSchedule> {
  const s = mark<StoredSchedule>(
    'schedule',
    name,
    data,
    [
      ['when', isWhen, ''],
      ['catchUp', (v) => v === 'once' || v === 'skip', 'skip'],
      ['job', isDraft, { type: '', queue: '', payload: undefined }],
      ['nextRunAt', isNumber, NEVER],
      ['createdAt', isNumber, 0],
      ['updatedAt', isNumber, 0],
    ],
    stored,
    why,
  )
  s.name = name
  return s
}
