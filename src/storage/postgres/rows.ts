/**
 * Records to rows and back. A row is an object keyed by column name, as a `SELECT` of the
 * store returns it and as a write sends it (inside one JSON parameter, see `statements.ts`):
 * the payload and `data` are JSON text, times JavaScript numbers (`double precision`), and
 * `seq` a `bigint` that node-postgres returns as a string, so it is read with `Number()`.
 *
 * Each record keeps the fields that queries filter or order on in columns and the rest as
 * JSON; every value a user gave goes through `strictJson`, so what cannot be stored faithfully
 * is a `SerializationError` before anything is written. A row whose JSON is not the record
 * ferry wrote (changed by hand) is read as the SQLite store reads one: from its columns and
 * what is left, marked `unreadable` (code `CORRUPT_RECORD`), never thrown.
 *
 * @module
 */
import { readBatch, readChain, readSchedule, storedForm, withoutMark } from '../../core/damaged.js'
import type { StoredBatch, StoredChain, StoredJob, StoredSchedule } from '../../core/store.js'
import { strictJson } from '../../core/strict-json.js'

export type Row = Record<string, unknown>

/** The columns of `jobs`, as every query selects them and every write sends them. */
export const JOB_COLUMNS = [
  'id',
  'seq',
  'queue',
  'type',
  'state',
  'priority',
  'run_at',
  'created_at',
  'started_at',
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

/** The SQL type of each column, for reading rows back out of a JSON parameter. */
export const JOB_TYPES: Record<(typeof JOB_COLUMNS)[number], string> = {
  id: 'text',
  seq: 'bigint',
  queue: 'text',
  type: 'text',
  state: 'text',
  priority: 'double precision',
  run_at: 'double precision',
  created_at: 'double precision',
  started_at: 'double precision',
  finished_at: 'double precision',
  lease_owner: 'text',
  lease_token: 'text',
  lease_until: 'double precision',
  unique_key: 'text',
  unique_until: 'double precision',
  chain_id: 'text',
  batch_id: 'text',
  dispatched_by: 'text',
  processed_by: 'text',
  payload: 'json',
  data: 'json',
}

export function jobToRow(j: StoredJob): Row {
  const {
    seq,
    id,
    queue,
    type,
    state,
    priority,
    runAt,
    createdAt,
    startedAt,
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
  return {
    id,
    seq,
    queue,
    type,
    state,
    priority,
    run_at: runAt,
    created_at: createdAt,
    started_at: startedAt ?? null,
    finished_at: finishedAt ?? null,
    lease_owner: lease?.owner ?? null,
    lease_token: lease?.token ?? null,
    lease_until: lease?.until ?? null,
    unique_key: uniqueKey ?? null,
    unique_until: uniqueUntil ?? null,
    chain_id: chainId ?? null,
    batch_id: batchId ?? null,
    dispatched_by: dispatchedBy ?? null,
    processed_by: processedBy ?? null,
    payload: strictJson(payload, `the payload of job ${id}`) ?? null,
    data: strictJson(rest, `job ${id}`) ?? '{}',
  }
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v))

/**
 * A row as a job. A row whose `data` is not a JSON object, or lacks the fields the engine
 * needs, is read from its columns and what is left, with `unreadable` saying what is wrong
 * (code `CORRUPT_RECORD`): the engine fails such a job when it claims it, and listings and
 * counts go on.
 */
export function jobFromRow(r: Row): StoredJob {
  let damage: string[] | undefined
  let data: unknown
  try {
    data = JSON.parse(r['data'] as string)
  } catch {
    ;(damage ??= []).push('its data is not valid JSON')
  }
  const sound = typeof data === 'object' && data !== null && !Array.isArray(data)
  const j = (sound ? data : {}) as StoredJob
  if (!sound && damage === undefined) damage = ['its data is not a JSON object']
  j.seq = num(r['seq'])
  j.id = r['id'] as string
  j.queue = r['queue'] as string
  j.type = r['type'] as string
  j.state = r['state'] as StoredJob['state']
  j.priority = num(r['priority'])
  j.runAt = num(r['run_at'])
  j.createdAt = num(r['created_at'])
  // The columns hold these, not the data (where a row changed by hand may have some).
  delete j.startedAt
  delete j.dispatchedBy
  delete j.processedBy
  if (r['started_at'] !== null) j.startedAt = num(r['started_at'])
  if (r['finished_at'] !== null) j.finishedAt = num(r['finished_at'])
  if (r['lease_owner'] !== null) {
    j.lease = { owner: r['lease_owner'] as string, token: r['lease_token'] as string, until: num(r['lease_until']) }
  }
  if (r['unique_key'] !== null) j.uniqueKey = r['unique_key'] as string
  if (r['unique_until'] !== null) j.uniqueUntil = num(r['unique_until'])
  if (r['chain_id'] !== null) j.chainId = r['chain_id'] as string
  if (r['batch_id'] !== null) j.batchId = r['batch_id'] as string
  if (r['dispatched_by'] !== null) j.dispatchedBy = r['dispatched_by'] as string
  if (r['processed_by'] !== null) j.processedBy = r['processed_by'] as string
  if (r['payload'] === null || r['payload'] === undefined) j.payload = undefined
  else {
    try {
      j.payload = JSON.parse(r['payload'] as string)
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

/** A chain or batch row: `id`, `state`, `finished_at`, `data`. */
export function chainToRow(c: StoredChain): Row {
  const { id, state, finishedAt, ...rest } = withoutMark(c)
  const stored = storedForm(c)
  return { id, state, finished_at: finishedAt ?? null, data: typeof stored === 'string' ? stored : (strictJson(rest, `chain ${id}`) ?? '{}') }
}

/** A chain row; one whose data is not a record or lacks what the engine needs is marked `unreadable`. */
export function chainFromRow(r: Row): StoredChain {
  const { data, why } = parse(r['data'])
  const c = readChain(r['id'] as string, withState(data, r), r['data'], why)
  if (r['finished_at'] !== null) c.finishedAt = num(r['finished_at'])
  return c
}

/** A batch's jobs are found by their `batch_id`: a list of them, if a record has one, is not kept. */
export function batchToRow(b: StoredBatch): Row {
  const { id, state, finishedAt, ...rest } = withoutMark(b)
  delete (rest as { jobIds?: unknown }).jobIds
  const stored = storedForm(b)
  return { id, state, finished_at: finishedAt ?? null, data: typeof stored === 'string' ? stored : (strictJson(rest, `batch ${id}`) ?? '{}') }
}

export function batchFromRow(r: Row): StoredBatch {
  const { data, why } = parse(r['data'])
  const b = readBatch(r['id'] as string, withState(data, r), r['data'], why) as StoredBatch & { jobIds?: unknown }
  if (r['finished_at'] !== null) b.finishedAt = num(r['finished_at'])
  delete b.jobIds
  return b
}

export function scheduleToRow(s: StoredSchedule): Row {
  const { name, nextRunAt, ...rest } = withoutMark(s)
  const stored = storedForm(s)
  return { name, next_run_at: nextRunAt, data: typeof stored === 'string' ? stored : (strictJson(rest, `schedule ${name}`) ?? '{}') }
}

/** A schedule row; one whose data is not a record or lacks what the engine needs is marked `unreadable`. */
export function scheduleFromRow(r: Row): StoredSchedule {
  const { data, why } = parse(r['data'])
  const fields = (data ?? {}) as { nextRunAt?: unknown }
  fields.nextRunAt = num(r['next_run_at'])
  return readSchedule(r['name'] as string, fields, r['data'], why)
}

/** The JSON of a row's data, or why it is not a record. */
function parse(text: unknown): { data: unknown; why?: string } {
  try {
    const data: unknown = JSON.parse(text as string)
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? { data } : { data: undefined, why: 'its data is not a JSON object' }
  } catch {
    return { data: undefined, why: 'its data is not valid JSON' }
  }
}

/** A group's data with its state column, when the data is a record. */
function withState(data: unknown, r: Row): unknown {
  if (data === undefined) return { state: r['state'] }
  ;(data as { state?: unknown }).state = r['state']
  return data
}
