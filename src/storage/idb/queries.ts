/**
 * The engine's index queries over the jobs store, inside one transaction.
 *
 * Each asks an index for a key range and a count (`getAll(range, count)`), one request per
 * queue (and type) of the scope, all in flight together, then merges the short answers. None
 * walks records the query does not want: see the indexes in `rows.ts`.
 *
 * @module
 */
import { InvalidArgumentError } from '../../core/errors.js'
import type { AliveOwners, ClaimOrder } from '../../core/store.js'
import type { FinishedQuery, QueueScope } from '../../core/store-backend.js'
import type { Counts, FinishedState, JobFilter, JobState } from '../../core/types.js'
import { request } from './request.js'
import { byClaimOrder, byRunAt, byRunAtClaimOrder, bySeq, type JobRow } from './rows.js'

/** The jobs store in a store call's transaction (raw, see `request.ts`). */
export type JobStore = IDBObjectStore

const getAll = (source: IDBObjectStore | IDBIndex, query?: IDBKeyRange | null, count?: number): Promise<JobRow[]> =>
  request(source.getAll(query, count)) as Promise<JobRow[]>
const count = (source: IDBObjectStore | IDBIndex, query?: IDBKeyRange): Promise<number> => request(source.count(query))

/** Sorts above every number and string: the open end of a key prefix. */
const HIGH: IDBValidKey = []
const STATES: JobState[] = ['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled']
/** The states kept in the `state` index: all but `active`, whose jobs are in `lease` only. */
const LISTED: JobState[] = STATES.filter((s) => s !== 'active')
/** The most records one paged request of a filtered listing reads. */
const PAGE = 500

const range = (lower: IDBValidKey, upper: IDBValidKey, lowerOpen = false, upperOpen = false): IDBKeyRange =>
  IDBKeyRange.bound(lower, upper, lowerOpen, upperOpen)

const pairs = (scope: QueueScope): [string, string][] => scope.queues.flatMap((q) => scope.types.map((t): [string, string] => [q, t]))

async function gather(requests: Promise<JobRow[]>[], order: (a: JobRow, b: JobRow) => number, limit: number): Promise<JobRow[]> {
  const lists = await Promise.all(requests)
  if (lists.length === 1) return lists[0] as JobRow[]
  return lists.flat().sort(order).slice(0, limit)
}

/** Each claim order's index and the order its per queue and type answers merge in. */
const CLAIM_ORDERS: Record<ClaimOrder, { index: string; compare: (a: JobRow, b: JobRow) => number }> = {
  priority: { index: 'ready', compare: byClaimOrder },
  runAt: { index: 'readyRunAt', compare: byRunAtClaimOrder },
}

/**
 * Waiting jobs of the scope in claim order: `limit` records of the order's index per queue
 * and type, merged.
 */
export function ready(jobs: JobStore, scope: QueueScope, limit: number, order: ClaimOrder = 'priority'): Promise<JobRow[]> {
  const claimOrder = Object.hasOwn(CLAIM_ORDERS, order) ? CLAIM_ORDERS[order] : undefined
  if (!claimOrder) return Promise.reject(new InvalidArgumentError(`claim order must be 'priority' or 'runAt', not ${JSON.stringify(order)}`))
  if (limit <= 0) return Promise.resolve([])
  const index = jobs.index(claimOrder.index)
  return gather(pairs(scope).map(([q, t]) => getAll(index, range([q, t], [q, t, HIGH]), limit)), claimOrder.compare, limit)
}

/** Delayed jobs of these queues due at `now`, earliest first. */
export function due(jobs: JobStore, queues: string[], now: number, limit: number): Promise<JobRow[]> {
  if (limit <= 0) return Promise.resolve([])
  const index = jobs.index('due')
  return gather(queues.map((q) => getAll(index, range([q], [q, now, HIGH]), limit)), byRunAt, limit)
}

/**
 * Active jobs of the scope whose lease ended at or before `now`, and with `alive`, those of a
 * dead owner whose attempt started before `alive.asOf`. Then every active job of the scope is
 * read: they are few.
 */
export async function expired(jobs: JobStore, scope: QueueScope, now: number, limit: number, alive?: AliveOwners): Promise<JobRow[]> {
  if (limit <= 0) return []
  const index = jobs.index('lease')
  const byUntil = (a: JobRow, b: JobRow): number => (a.lease?.until ?? 0) - (b.lease?.until ?? 0) || a.seq - b.seq
  if (!alive) return gather(pairs(scope).map(([q, t]) => getAll(index, range([q, t], [q, t, now]), limit)), byUntil, limit)
  const owners = new Set(alive.owners)
  const taken = (j: JobRow): boolean =>
    (j.lease?.until ?? 0) <= now || (!owners.has(j.lease?.owner ?? '') && (j.startedAt ?? Infinity) < alive.asOf)
  const lists = await Promise.all(pairs(scope).map(([q, t]) => getAll(index, range([q, t], [q, t, HIGH]))))
  return lists.flat().filter(taken).sort(byUntil).slice(0, limit)
}

export async function nextDue(jobs: JobStore, queues: string[]): Promise<number | undefined> {
  const index = jobs.index('due')
  const firsts = await Promise.all(queues.map((q) => getAll(index, range([q], [q, HIGH]), 1)))
  // The time the index holds, by which `due` finds the job: a record's runAt changed by hand
  // is not what its index key says.
  return min(firsts.flat().map((j) => j._ix?.due?.[1] ?? j.runAt))
}

export async function nextExpiry(jobs: JobStore, scope: QueueScope, now: number): Promise<number | undefined> {
  const index = jobs.index('lease')
  const firsts = await Promise.all(pairs(scope).map(([q, t]) => getAll(index, range([q, t, now], [q, t, HIGH], true), 1)))
  return min(firsts.flat().map((j) => j.lease?.until ?? 0))
}

/** The least of these times; one that is not a finite number (a record changed by hand) is left out. */
function min(values: unknown[]): number | undefined {
  const times = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))
  return times.length === 0 ? undefined : Math.min(...times)
}

export async function counts(jobs: JobStore, now: number): Promise<Counts> {
  const index = jobs.index('state')
  const [perState, active, due] = await Promise.all([
    Promise.all(LISTED.map((s) => count(index, range([s], [s, HIGH])))),
    // Active jobs are in the lease index only.
    count(jobs.index('lease')),
    count(jobs.index('delayed'), IDBKeyRange.upperBound(now)),
  ])
  const out = Object.fromEntries(LISTED.map((s, i) => [s, perState[i] ?? 0])) as unknown as Counts
  out.active = active
  out.waiting += due
  out.delayed -= due
  return out
}

/** How many jobs of a queue are in a finished state, counted on the `retain` index. */
export function finishedCount(jobs: JobStore, queue: string, state: FinishedState): Promise<number> {
  return count(jobs.index('retain'), range([queue, state], [queue, state, HIGH]))
}

/**
 * Finished jobs of a queue and state in the order they finished, from the `retain` index: one
 * `getAll` oldest first, else a cursor (backwards for the newest) that skips `offset` entries
 * with one `advance` and reads `limit` records.
 */
export function finished(jobs: JobStore, queue: string, state: FinishedState, q: FinishedQuery): Promise<JobRow[]> {
  if (q.limit <= 0) return Promise.resolve([])
  const index = jobs.index('retain')
  const keys = q.before === undefined ? range([queue, state], [queue, state, HIGH]) : range([queue, state], [queue, state, q.before], false, true)
  const offset = q.offset ?? 0
  if (!q.newest && offset === 0) return getAll(index, keys, q.limit)
  return new Promise((resolve, reject) => {
    const out: JobRow[] = []
    const r = index.openCursor(keys, q.newest ? 'prev' : 'next')
    let skipped = offset === 0
    r.onsuccess = () => {
      const cursor = r.result
      if (!cursor) return resolve(out)
      if (!skipped) {
        skipped = true
        return cursor.advance(offset)
      }
      out.push(cursor.value as JobRow)
      if (out.length >= q.limit) resolve(out)
      else cursor.continue()
    }
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })
}

/** A job's state as users see it: a delayed job whose time has come is waiting. */
const shown = (j: JobRow, now: number): JobState => (j.state === 'delayed' && j.runAt <= now ? 'waiting' : j.state)

/**
 * Jobs matching the filter in dispatch order, states as users see them at `now`. Each source
 * (a batch, a chain, a version's range of the `version` index, a state's range of the `state`
 * index, the active jobs) is read in seq order until it has `offset + limit` matches, and the
 * sources are merged; so a listing reads about `offset + limit` records per state it asks for,
 * however many jobs there are.
 *
 * With a `version`, the `version` index is read (unless a batch or chain is named, whose own
 * index is smaller): a listing of one version reads only that version's jobs, in all states.
 * Combined with a state or type filter it reads the version's jobs until it has enough
 * matches, so a version with many jobs, few of them in the states asked for, is read far.
 */
export async function listJobs(jobs: JobStore, f: JobFilter, now: number): Promise<JobRow[]> {
  const offset = f.offset ?? 0
  const want = offset + (f.limit ?? 100)
  const oneOf = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : [v].flat() as T[])
  const states = oneOf(f.state)
  const types = oneOf(f.type)
  const queues = oneOf(f.queue)
  const match = (j: JobRow): boolean =>
    (states === undefined || states.includes(shown(j, now))) &&
    (types === undefined || types.includes(j.type)) &&
    (queues === undefined || queues.includes(j.queue)) &&
    (f.batchId === undefined || j.batchId === f.batchId) &&
    (f.chainId === undefined || j.chainId === f.chainId) &&
    (f.version === undefined || j.dispatchedBy === f.version || j.processedBy === f.version)
  let sources: Promise<JobRow[]>[]
  if (f.batchId !== undefined) sources = [scanPrefix(jobs.index('batch'), f.batchId, match, want)]
  else if (f.chainId !== undefined) sources = [scanPrefix(jobs.index('chain'), f.chainId, match, want)]
  else if (f.version !== undefined) sources = [scanPrefix(jobs.index('version'), f.version, match, want)]
  else {
    const asked = new Set(states ?? STATES)
    const stateIndex = jobs.index('state')
    sources = LISTED.filter((s) => asked.has(s) || (s === 'delayed' && asked.has('waiting'))).map((s) =>
      // Delayed jobs are read only for those due when `waiting` alone is asked: few, by the delayed index.
      s === 'delayed' && !asked.has('delayed') ? dueDelayed(jobs, stateIndex, now, match, want) : scanPrefix(stateIndex, s, match, want),
    )
    if (asked.has('active')) sources.push(getAll(jobs.index('lease')).then((rows) => rows.filter(match).sort(bySeq).slice(0, want)))
  }
  const all = (await Promise.all(sources)).flat().sort(bySeq)
  return all.slice(offset, want)
}

/**
 * Delayed jobs whose `runAt <= now`, first `want` matches in seq order. Engines promote them
 * soon, so there are few: read whole by the delayed index. Only when more are due than a page
 * more than `want` does it page through the delayed range of `state` instead.
 */
async function dueDelayed(jobs: JobStore, stateIndex: IDBIndex, now: number, match: (j: JobRow) => boolean, want: number): Promise<JobRow[]> {
  const most = Math.min(want, 2 ** 30) + PAGE
  const due = await getAll(jobs.index('delayed'), IDBKeyRange.upperBound(now), most + 1)
  if (due.length > most) return scanPrefix(stateIndex, 'delayed', match, want)
  return due.filter(match).sort(bySeq).slice(0, want)
}

/** Rows of an index keyed `[prefix, seq]`, in seq order. */
function scanPrefix(index: IDBIndex, prefix: string, match: (j: JobRow) => boolean, want: number): Promise<JobRow[]> {
  return scan(index, (after) => range(after ?? [prefix], [prefix, HIGH], after !== undefined), (j) => [prefix, j.seq], match, want)
}

/** Pages through an index from the start of `rangeAfter(undefined)`, keeping matching rows. */
async function scan(
  index: IDBIndex,
  rangeAfter: (after: IDBValidKey | undefined) => IDBKeyRange | null,
  keyOf: (j: JobRow) => IDBValidKey,
  match: (j: JobRow) => boolean,
  want: number,
): Promise<JobRow[]> {
  const out: JobRow[] = []
  let after: IDBValidKey | undefined
  while (out.length < want) {
    const page = Math.min(Math.max(want - out.length, 1), PAGE)
    const rows = await getAll(index, rangeAfter(after), page)
    for (const r of rows) if (match(r) && out.length < want) out.push(r)
    const last = rows[rows.length - 1]
    if (rows.length < page || !last) break
    after = keyOf(last)
  }
  return out
}
