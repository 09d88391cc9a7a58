/**
 * Records to rows and back. Each record keeps the fields that queries filter or order on in
 * columns and the rest as JSON; every value a user gave (payloads, results, progress, callback
 * specs) goes through `strictJson`, so what cannot be stored faithfully is a
 * `SerializationError` before anything is written.
 *
 * @module
 */
import type { SqlValue } from '@sqlite.org/sqlite-wasm'
import type { StoredBatch, StoredChain, StoredJob, StoredSchedule } from '../../core/store.js'
import { readBatch, readChain, readSchedule, storedForm, withoutMark } from '../../core/damaged.js'
import { strictJson } from './strict-json.js'

/** The columns of `ferry_jobs` in the order `jobToRow` writes and `jobFromRow` reads them. */
export const JOB_COLUMNS = [
  'seq',
  'id',
  'queue',
  'type',
  'state',
  'priority',
  'run_at',
  'created_at',
  'finished_at',
  'lease_owner',
  'lease_token',
  'lease_until',
  'unique_key',
  'unique_until',
  'chain_id',
  'batch_id',
  'dispatched_by',
  'processed_by',
  'payload',
  'data',
] as const

export const JOB_SELECT = JOB_COLUMNS.join(', ')

/** Where `payload` and `data` sit in a job row. */
export const PAYLOAD = 18
export const DATA = 19

/**
 * `payloadJson`, when given, is the payload's JSON already: the text of the row the job was
 * read from, when the payload is that very value.
 */
export function jobToRow(j: StoredJob, payloadJson?: SqlValue): SqlValue[] {
  const {
    seq,
    id,
    queue,
    type,
    state,
    priority,
    runAt,
    createdAt,
    finishedAt,
    lease,
    uniqueKey,
    uniqueUntil,
    chainId,
    batchId,
    dispatchedBy,
    processedBy,
    payload,
    ...rest
  } = j
  return [
    seq,
    id,
    queue,
    type,
    state,
    priority,
    runAt,
    createdAt,
    finishedAt ?? null,
    lease?.owner ?? null,
    lease?.token ?? null,
    lease?.until ?? null,
    uniqueKey ?? null,
    uniqueUntil ?? null,
    chainId ?? null,
    batchId ?? null,
    dispatchedBy ?? null,
    processedBy ?? null,
    payloadJson !== undefined ? payloadJson : (strictJson(payload, `the payload of job ${id}`) ?? null),
    strictJson(rest, `job ${id}`) ?? '{}',
  ]
}

/**
 * A row as a job. A row whose `data` or `payload` does not parse, or whose `data` lacks the
 * fields the engine needs, is read from its columns and what is left, with `unreadable` saying
 * what is wrong (code `CORRUPT_RECORD`): the engine fails such a job when it claims it, and
 * listings and counts go on.
 */
export function jobFromRow(r: SqlValue[]): StoredJob {
  let damage: string[] | undefined
  let data: unknown
  try {
    data = JSON.parse(r[DATA] as string)
  } catch {
    ;(damage ??= []).push('its data is not valid JSON')
  }
  const sound = typeof data === 'object' && data !== null && !Array.isArray(data)
  const j = (sound ? data : {}) as StoredJob
  if (!sound && damage === undefined) damage = ['its data is not a JSON object']
  j.seq = r[0] as number
  j.id = r[1] as string
  j.queue = r[2] as string
  j.type = r[3] as string
  j.state = r[4] as StoredJob['state']
  j.priority = r[5] as number
  j.runAt = r[6] as number
  j.createdAt = r[7] as number
  if (r[8] !== null) j.finishedAt = r[8] as number
  if (r[9] !== null) j.lease = { owner: r[9] as string, token: r[10] as string, until: r[11] as number }
  if (r[12] !== null) j.uniqueKey = r[12] as string
  if (r[13] !== null) j.uniqueUntil = r[13] as number
  if (r[14] !== null) j.chainId = r[14] as string
  if (r[15] !== null) j.batchId = r[15] as string
  // The columns hold the versions, not the data (where a row changed by hand may have some).
  // Read as they are, as `meta` is from the data: the queue's record check leaves out a value
  // that is not what ferry writes and marks the record unreadable.
  delete j.dispatchedBy
  delete j.processedBy
  if (r[16] !== null) j.dispatchedBy = r[16] as string
  if (r[17] !== null) j.processedBy = r[17] as string
  if (r[PAYLOAD] === null) j.payload = undefined
  else {
    try {
      j.payload = JSON.parse(r[PAYLOAD] as string)
    } catch {
      j.payload = undefined
      ;(damage ??= []).push('its payload is not valid JSON')
    }
  }
  // What every claim and settlement reads: a number of attempts, a limit and a backoff.
  const missing: string[] = []
  if (typeof j.attempt !== 'number') {
    missing.push('attempt')
    j.attempt = 0
  }
  if (typeof j.maxAttempts !== 'number') {
    missing.push('maxAttempts')
    j.maxAttempts = 1
  }
  if (typeof j.backoff !== 'number' && (typeof j.backoff !== 'object' || j.backoff === null)) {
    missing.push('backoff')
    j.backoff = 0
  }
  if (sound && missing.length > 0) (damage ??= []).push(`its data lacks ${missing.join(', ')} or holds the wrong type`)
  if (damage && j.unreadable === undefined) {
    j.unreadable = {
      name: 'SerializationError',
      code: 'CORRUPT_RECORD',
      message: `the stored record of job ${j.id} is damaged (${damage.join('; ')}): it cannot be run`,
    }
  }
  return j
}

export function chainToRow(c: StoredChain): SqlValue[] {
  const { id, state, finishedAt, ...rest } = withoutMark(c)
  const stored = storedForm(c)
  return [id, state, finishedAt ?? null, typeof stored === 'string' ? stored : (strictJson(rest, `chain ${id}`) ?? '{}')]
}

/** A chain row; one whose data does not parse or lacks what the engine needs is marked `unreadable`. */
export function chainFromRow(r: SqlValue[]): StoredChain {
  const { data, why } = parse(r[3])
  const c = readChain(r[0] as string, withColumns(data, r), r[3], why)
  if (r[2] !== null) c.finishedAt = r[2] as number
  return c
}

/** A batch's jobs are found by their `batch_id`: a list of them, if a record has one, is not kept. */
export function batchToRow(b: StoredBatch): SqlValue[] {
  const { id, state, finishedAt, ...rest } = withoutMark(b)
  delete (rest as { jobIds?: unknown }).jobIds
  const stored = storedForm(b)
  return [id, state, finishedAt ?? null, typeof stored === 'string' ? stored : (strictJson(rest, `batch ${id}`) ?? '{}')]
}

/** Rows written before batches stopped listing their jobs still have `jobIds`: it is left out. */
export function batchFromRow(r: SqlValue[]): StoredBatch {
  const { data, why } = parse(r[3])
  const b = readBatch(r[0] as string, withColumns(data, r), r[3], why) as StoredBatch & { jobIds?: unknown }
  if (r[2] !== null) b.finishedAt = r[2] as number
  delete b.jobIds
  return b
}

/** The JSON of a row's data, or why it is not a record. */
function parse(text: SqlValue | undefined): { data: unknown; why?: string } {
  try {
    const data: unknown = JSON.parse(text as string)
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? { data } : { data: undefined, why: 'its data is not a JSON object' }
  } catch {
    return { data: undefined, why: 'its data is not valid JSON' }
  }
}

/** A group's data with its state column, when the data is a record. */
function withColumns(data: unknown, r: SqlValue[]): unknown {
  if (data !== undefined) (data as { state?: unknown }).state = r[1]
  else return { state: r[1] }
  return data
}

export function scheduleToRow(s: StoredSchedule): SqlValue[] {
  const { name, nextRunAt, ...rest } = withoutMark(s)
  const stored = storedForm(s)
  return [name, nextRunAt, typeof stored === 'string' ? stored : (strictJson(rest, `schedule ${name}`) ?? '{}')]
}

/** A schedule row; one whose data does not parse or lacks what the engine needs is marked `unreadable`. */
export function scheduleFromRow(r: SqlValue[]): StoredSchedule {
  const { data, why } = parse(r[2])
  const fields = (data ?? {}) as { nextRunAt?: unknown }
  fields.nextRunAt = r[1]
  return readSchedule(r[0] as string, fields, r[2], why)
}
