/**
 * `memoryStore()`: the reference store, kept in this JavaScript realm. The default of
 * `createQueue` and the store of `createTestQueue`. Nothing survives the process.
 *
 * Transactions run one at a time. Writes apply at once, so later reads in the same
 * transaction see them, and each write records how to undo itself: a transaction that throws
 * is rolled back completely. Application values (payloads, results) are structured-cloned on
 * the way in and whatever a call returns is copied on the way out, so a caller holding one
 * cannot change what is stored, and a value that cannot be cloned is a `SerializationError`
 * with nothing written. Only what can change is copied: a primitive payload or result is kept
 * as it is, records core hands in are kept (core never changes a record it has put), and on
 * the way out the records are copied field by field with only their application values
 * structured-cloned.
 *
 * @module
 */
import { defineStore } from './define-store.js'
import { InvalidArgumentError, SerializationError } from './errors.js'
import { exclusiveLiveness } from './liveness.js'
import { SortedList } from './sorted-list.js'
import type { FinishedQuery, QueueScope, StoreBackend, StoreTx } from './store-backend.js'
import type { ClaimOrder, Store, StoredBatch, StoredChain, StoredJob, StoredSchedule } from './store.js'
import type { Counts, FinishedState, JobFilter, JobState } from './types.js'

type Entry = { id: string; priority: number; runAt: number; seq: number }

const STATES: readonly JobState[] = ['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled']

const byClaimOrder = (a: Entry, b: Entry): number =>
  b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq || cmp(a.id, b.id)
/** The `'runAt'` claim order: the earliest ready time first, then priority, then dispatch order. */
const byReadyOrder = (a: Entry, b: Entry): number =>
  a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq || cmp(a.id, b.id)
const byRunAt = (a: Entry, b: Entry): number => a.runAt - b.runAt || a.seq - b.seq || cmp(a.id, b.id)
/** Seqs are unique: they alone order the jobs. */
const bySeq = (a: Entry, b: Entry): number => a.seq - b.seq
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The fields of a job that hold the application's values, which the store must copy. */
const VALUE_FIELDS = ['payload', 'result', 'progress', 'error', 'previousResult', 'groupError'] as const
/** Where application values sit in what the store returns: records, drafts and events. */
const VALUE_KEYS: ReadonlySet<string> = new Set<string>(VALUE_FIELDS)

const entry = (j: StoredJob): Entry => ({ id: j.id, priority: j.priority, runAt: j.runAt, seq: j.seq })

export function memoryStore(): Store {
  // Only this realm reaches the store: the engines alive are those holding through it.
  return defineStore(new MemoryBackend(), { liveness: exclusiveLiveness() })
}

class MemoryBackend implements StoreBackend {
  readonly #jobs = new Map<string, StoredJob>()
  readonly #chains = new Map<string, StoredChain>()
  readonly #batches = new Map<string, StoredBatch>()
  readonly #schedules = new Map<string, StoredSchedule>()
  /** waiting jobs: queue -> type -> claim order */
  readonly #waiting = new Map<string, Map<string, SortedList<Entry>>>()
  /**
   * waiting jobs: queue -> type -> the `'runAt'` claim order. Made for a queue and type the
   * first time a claim asks for that order there (one sort of its waiting jobs), then kept
   * up to date as the other: a store whose engines never claim by runAt keeps none.
   */
  readonly #waitingByRunAt = new Map<string, Map<string, SortedList<Entry>>>()
  /** delayed jobs: queue -> runAt order */
  readonly #delayed = new Map<string, SortedList<Entry>>()
  readonly #active = new Set<string>()
  /** Every job by stored state, in dispatch order: what `listJobs` pages through. */
  readonly #bySeq = Object.fromEntries(STATES.map((st) => [st, new SortedList<Entry>(bySeq)])) as Record<JobState, SortedList<Entry>>
  /** The jobs of each batch in dispatch order, and the list of their ids once asked for. */
  readonly #members = new Map<string, { list: SortedList<Entry>; ids?: string[] }>()
  readonly #unique = new Map<string, Set<string>>()
  /** Finished jobs per queue and state in the order they finished: what retention reads. */
  readonly #finished = new Map<string, FinishedList>()
  readonly #counts: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }
  #seq = 0
  #tail: Promise<unknown> = Promise.resolve()
  /** How to undo the writes of the write transaction that runs; null outside of one. */
  #undo: (() => void)[] | null = null
  /** The one object of each kind a transaction works through: made once, not per call. */
  readonly #writeTx = this.#tx(true)
  readonly #readTx = this.#tx(false)

  async write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> {
    if (opts?.tx !== undefined) {
      throw new InvalidArgumentError('the memory store has no transaction of its own to join: dispatch without { tx }')
    }
    return this.#exclusive(async () => {
      const undo: (() => void)[] = []
      this.#undo = undo
      try {
        return copyOut(await fn(this.#writeTx))
      } catch (err) {
        for (let i = undo.length - 1; i >= 0; i--) undo[i]?.()
        throw err
      } finally {
        this.#undo = null
      }
    })
  }

  async read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => copyOut(await fn(this.#readTx)))
  }

  async close(): Promise<void> {
    await this.#exclusive(async () => undefined)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  #tx(canWrite: boolean): StoreTx {
    const writable = <A extends unknown[]>(f: (...a: A) => void) => async (...a: A): Promise<void> => {
      if (!canWrite || !this.#undo) throw new Error('write outside a write transaction')
      f(...a)
    }
    const putIn = <V>(map: Map<string, V>, id: string, v: V | undefined): void => {
      const prev = map.get(id)
      this.#undo?.push(() => (prev === undefined ? map.delete(id) : map.set(id, prev)))
      if (v === undefined) map.delete(id)
      else map.set(id, v)
    }
    const setJob = (id: string, next: StoredJob | undefined): void => {
      const prev = this.#jobs.get(id)
      this.#setJob(id, next)
      this.#undo?.push(() => this.#setJob(id, prev))
    }
    return {
      getJob: async (id) => this.#jobs.get(id),
      getChain: async (id) => this.#chains.get(id),
      getBatch: async (id) => this.#batches.get(id),
      findUnique: async (key, now) => {
        for (const id of this.#unique.get(key) ?? []) {
          const j = this.#jobs.get(id)
          if (j && (j.uniqueUntil ?? 0) > now) return j
        }
        return undefined
      },
      ready: async (scope, limit, order) => this.#ready(scope, limit, order === 'runAt' ? 'runAt' : 'priority'),
      due: async (queues, now, limit) => {
        const out: StoredJob[] = []
        for (const q of queues) {
          for (const e of this.#delayed.get(q)?.values() ?? []) {
            if (e.runAt > now || out.length >= limit) break
            out.push(this.#jobs.get(e.id) as StoredJob)
          }
        }
        return out
      },
      expired: async (scope, now, limit, alive) => {
        const out: StoredJob[] = []
        const owners = new Set(alive?.owners)
        const dead = (j: StoredJob): boolean =>
          alive !== undefined && !owners.has(j.lease?.owner ?? '') && (j.startedAt ?? Infinity) < alive.asOf
        for (const id of this.#active) {
          const j = this.#jobs.get(id) as StoredJob
          if (out.length < limit && inScope(j, scope) && ((j.lease?.until ?? 0) <= now || dead(j))) out.push(j)
        }
        return out
      },
      nextDue: async (queues) => {
        let min: number | undefined
        for (const q of queues) {
          const first = this.#delayed.get(q)?.first()
          if (first && (min === undefined || first.runAt < min)) min = first.runAt
        }
        return min
      },
      nextExpiry: async (scope, now) => {
        let min: number | undefined
        for (const id of this.#active) {
          const j = this.#jobs.get(id) as StoredJob
          const until = j.lease?.until ?? 0
          if (until > now && inScope(j, scope) && (min === undefined || until < min)) min = until
        }
        return min
      },
      listJobs: async (f, now) => this.#list(f, now),
      batchJobIds: async (batchId) => {
        const m = this.#members.get(batchId)
        if (!m) return []
        m.ids ??= [...m.list.values()].map((e) => e.id)
        return m.ids
      },
      counts: async (now) => {
        let due = 0
        for (const list of this.#delayed.values()) {
          for (const e of list.values()) {
            if (e.runAt > now) break
            due++
          }
        }
        return { ...this.#counts, waiting: this.#counts.waiting + due, delayed: this.#counts.delayed - due }
      },
      finishedBefore: async (before, limit) => {
        const out: StoredJob[] = []
        for (const j of this.#jobs.values()) {
          if (out.length >= limit) break
          if (j.finishedAt !== undefined && j.finishedAt < before && j.chainId === undefined && j.batchId === undefined) out.push(j)
        }
        return out
      },
      groupsFinishedBefore: async (before, limit) => {
        const done = (g: { finishedAt?: number }): boolean => g.finishedAt !== undefined && g.finishedAt < before
        return {
          chains: [...this.#chains.values()].filter(done).slice(0, limit),
          batches: [...this.#batches.values()].filter(done).slice(0, limit),
        }
      },
      finished: async (queue, state, q) => (this.#finished.get(finishedKey(queue, state))?.query(q) ?? []).map((id) => this.#jobs.get(id) as StoredJob),
      finishedCount: async (queue, state) => this.#finished.get(finishedKey(queue, state))?.size ?? 0,
      getSchedule: async (name) => this.#schedules.get(name),
      listSchedules: async () => [...this.#schedules.values()].sort((a, b) => cmp(a.name, b.name)),
      dueSchedules: async (now, limit) =>
        this.#schedules.size === 0
          ? []
          : [...this.#schedules.values()]
          .filter((sc) => sc.nextRunAt <= now)
          .sort((a, b) => a.nextRunAt - b.nextRunAt)
          .slice(0, limit),
      nextScheduleAt: async () => {
        let min: number | undefined
        for (const sc of this.#schedules.values()) if (min === undefined || sc.nextRunAt < min) min = sc.nextRunAt
        return min
      },
      nextSeq: async (count = 1) => {
        const undo = this.#undo
        if (!canWrite || !undo) throw new Error('write outside a write transaction')
        const prev = this.#seq
        undo.push(() => (this.#seq = prev))
        this.#seq += count
        return prev + 1
      },
      putJob: writable((j: StoredJob) => setJob(j.id, this.#own(j))),
      deleteJob: writable((id: string) => setJob(id, undefined)),
      putChain: writable((c: StoredChain) => putIn(this.#chains, c.id, ownCallbacks(c, this.#chains.get(c.id)))),
      deleteChain: writable((id: string) => putIn(this.#chains, id, undefined)),
      putBatch: writable((b: StoredBatch) => putIn(this.#batches, b.id, ownCallbacks(b, this.#batches.get(b.id)))),
      deleteBatch: writable((id: string) => putIn(this.#batches, id, undefined)),
      putSchedule: writable((sc: StoredSchedule) => putIn(this.#schedules, sc.name, clone(sc))),
      deleteSchedule: writable((name: string) => putIn(this.#schedules, name, undefined)),
    }
  }

  /**
   * The record to keep for `j`: `j` itself (core builds a new record for every put and never
   * changes it after), with its values from outside (a new payload, a result) cloned when they
   * are objects. Values the stored record holds already are shared, not cloned again: records
   * are never changed in place, only replaced.
   */
  #own(j: StoredJob): StoredJob {
    const prev = this.#jobs.get(j.id)
    // Each field by name: a loop over names would make every read a slow keyed lookup.
    if (
      !(j.payload !== prev?.payload && mayChange(j.payload)) &&
      !(j.result !== prev?.result && mayChange(j.result)) &&
      !(j.progress !== prev?.progress && mayChange(j.progress)) &&
      !(j.error !== prev?.error && mayChange(j.error)) &&
      !(j.previousResult !== prev?.previousResult && mayChange(j.previousResult)) &&
      !(j.groupError !== prev?.groupError && mayChange(j.groupError)) &&
      !(j.meta !== prev?.meta && j.meta !== undefined)
    ) {
      return j
    }
    const rec: StoredJob = { ...j }
    // Metadata holds plain values only: a shallow copy detaches it from the caller's object.
    if (j.meta !== prev?.meta && j.meta !== undefined) rec.meta = { ...j.meta }
    for (const f of VALUE_FIELDS) {
      const v = j[f]
      if (v !== prev?.[f] && mayChange(v)) (rec as unknown as Record<string, unknown>)[f] = clone(v)
    }
    return rec
  }

  /**
   * Reads the jobs of the stored states asked for (or of the batch or chain) in dispatch order,
   * skipping those the other filters leave out. A version is in no index: a filter by version
   * alone may read every job to fill a page.
   */
  #list(f: JobFilter, now: number): StoredJob[] {
    const limit = f.limit ?? 100
    let skip = f.offset ?? 0
    if (limit <= 0) return []
    const states = f.state === undefined ? undefined : new Set([f.state].flat())
    const types = f.type === undefined ? undefined : new Set([f.type].flat())
    const queues = f.queue === undefined ? undefined : new Set([f.queue].flat())
    // Where to look, in dispatch order: the batch's or chain's jobs, or the jobs of the stored
    // states that can show as the states asked for (a due delayed job shows as waiting).
    let source: Iterable<string>
    if (f.batchId !== undefined) source = [...(this.#members.get(f.batchId)?.list.values() ?? [])].map((e) => e.id)
    else if (f.chainId !== undefined) source = this.#chains.get(f.chainId)?.jobIds ?? []
    else {
      const stored = states === undefined ? STATES : STATES.filter((st) => states.has(st) || (st === 'delayed' && states.has('waiting')))
      source = ids(mergeBySeq(stored.map((st) => this.#bySeq[st])))
    }
    const out: StoredJob[] = []
    for (const id of source) {
      const j = this.#jobs.get(id)
      if (
        !j ||
        (states && !states.has(j.state === 'delayed' && j.runAt <= now ? 'waiting' : j.state)) ||
        (types && !types.has(j.type)) ||
        (queues && !queues.has(j.queue)) ||
        (f.batchId !== undefined && j.batchId !== f.batchId) ||
        (f.chainId !== undefined && j.chainId !== f.chainId) ||
        (f.version !== undefined && j.dispatchedBy !== f.version && j.processedBy !== f.version)
      ) continue
      if (skip > 0) skip--
      else if (out.push(j) >= limit) break
    }
    return out
  }

  #ready(scope: QueueScope, limit: number, order: ClaimOrder): StoredJob[] {
    // Merge the heads of each (queue, type) list: the lists are small in number.
    const lists: SortedList<Entry>[] = []
    for (const q of scope.queues) {
      const byType = this.#waiting.get(q)
      for (const t of scope.types) {
        const l = byType?.get(t)
        if (l && l.size > 0) lists.push(order === 'runAt' ? this.#runAtList(q, t, l) : l)
      }
    }
    const compare = order === 'runAt' ? byReadyOrder : byClaimOrder
    if (lists.length === 1) return [...take(lists[0] as SortedList<Entry>, limit)].map((e) => this.#jobs.get(e.id) as StoredJob)
    const heads = lists.map((l) => l.values())
    const current = heads.map((h) => h.next())
    const out: StoredJob[] = []
    while (out.length < limit) {
      let best = -1
      for (let i = 0; i < current.length; i++) {
        const c = current[i]
        if (c && !c.done && (best < 0 || compare(c.value, (current[best] as IteratorYieldResult<Entry>).value) < 0)) best = i
      }
      if (best < 0) break
      const c = current[best] as IteratorYieldResult<Entry>
      out.push(this.#jobs.get(c.value.id) as StoredJob)
      current[best] = (heads[best] as IterableIterator<Entry>).next()
    }
    return out
  }

  #setJob(id: string, next: StoredJob | undefined): void {
    const prev = this.#jobs.get(id)
    if (prev) this.#unindex(prev)
    if (next) {
      this.#jobs.set(id, next)
      this.#index(next)
    } else this.#jobs.delete(id)
    // A job's batch never changes: it joins its batch's list when written first, and leaves
    // it when deleted.
    const batchId = (prev ?? next)?.batchId
    if (batchId !== undefined && (prev === undefined) !== (next === undefined)) {
      let m = this.#members.get(batchId)
      if (!m) this.#members.set(batchId, (m = { list: new SortedList(bySeq) }))
      if (next) m.list.add(entry(next))
      else if (prev) m.list.delete(entry(prev))
      m.ids = undefined
      if (m.list.size === 0) this.#members.delete(batchId)
    }
  }

  #index(j: StoredJob): void {
    this.#counts[j.state]++
    const e = entry(j)
    this.#bySeq[j.state].add(e)
    if (j.state === 'waiting') {
      this.#waitingList(j).add(e)
      this.#waitingByRunAt.get(j.queue)?.get(j.type)?.add(e)
    } else if (j.state === 'delayed') this.#delayedList(j.queue).add(e)
    else if (j.state === 'active') this.#active.add(j.id)
    if (isFinishedState(j.state) && j.finishedAt !== undefined) {
      const key = finishedKey(j.queue, j.state)
      let list = this.#finished.get(key)
      if (!list) this.#finished.set(key, (list = new FinishedList()))
      list.add(j)
    }
    if (j.uniqueKey !== undefined) {
      let ids = this.#unique.get(j.uniqueKey)
      if (!ids) this.#unique.set(j.uniqueKey, (ids = new Set()))
      ids.add(j.id)
    }
  }

  #unindex(j: StoredJob): void {
    this.#counts[j.state]--
    const e = entry(j)
    this.#bySeq[j.state].delete(e)
    if (j.state === 'waiting') {
      this.#waitingList(j).delete(e)
      this.#waitingByRunAt.get(j.queue)?.get(j.type)?.delete(e)
    } else if (j.state === 'delayed') this.#delayedList(j.queue).delete(e)
    else if (j.state === 'active') this.#active.delete(j.id)
    if (isFinishedState(j.state) && j.finishedAt !== undefined) {
      const key = finishedKey(j.queue, j.state)
      const list = this.#finished.get(key)
      list?.delete(j)
      if (list?.size === 0) this.#finished.delete(key)
    }
    if (j.uniqueKey !== undefined) {
      const ids = this.#unique.get(j.uniqueKey)
      ids?.delete(j.id)
      if (ids?.size === 0) this.#unique.delete(j.uniqueKey)
    }
  }

  #waitingList(j: StoredJob): SortedList<Entry> {
    let byType = this.#waiting.get(j.queue)
    if (!byType) this.#waiting.set(j.queue, (byType = new Map<string, SortedList<Entry>>()))
    let list = byType.get(j.type)
    if (!list) byType.set(j.type, (list = new SortedList(byClaimOrder)))
    return list
  }

  /** The `'runAt'` order of the waiting jobs of one queue and type, made from `byPriority` when first asked for. */
  #runAtList(queue: string, type: string, byPriority: SortedList<Entry>): SortedList<Entry> {
    let byType = this.#waitingByRunAt.get(queue)
    if (!byType) this.#waitingByRunAt.set(queue, (byType = new Map<string, SortedList<Entry>>()))
    let list = byType.get(type)
    if (!list) {
      list = new SortedList(byReadyOrder)
      // Added in order, each at the end: no entry moves.
      for (const e of [...byPriority.values()].sort(byReadyOrder)) list.add(e)
      byType.set(type, list)
    }
    return list
  }

  #delayedList(queue: string): SortedList<Entry> {
    let list = this.#delayed.get(queue)
    if (!list) this.#delayed.set(queue, (list = new SortedList(byRunAt)))
    return list
  }
}

function isFinishedState(s: JobState): s is FinishedState {
  return s === 'succeeded' || s === 'failed' || s === 'cancelled'
}

type Finished = { id: string; finishedAt: number; seq: number }

const finishedKey = (queue: string, state: FinishedState): string => `${state}\u0000${queue}`

const byFinish = (a: { finishedAt: number; seq: number }, b: { finishedAt: number; seq: number }): number => a.finishedAt - b.finishedAt || a.seq - b.seq

/**
 * The finished jobs of one queue and state by (finishedAt, seq), read by position from either end: a
 * sorted array with a moving start, as `SortedList` keeps. Jobs finish in about time order, so
 * most adds are at the end; retention and prune delete the oldest (the start moves on, nothing
 * is copied) or those just past the newest kept (a short move at the end).
 */
class FinishedList {
  #items: (Finished | undefined)[] = []
  #start = 0

  get size(): number {
    return this.#items.length - this.#start
  }

  /** The position of the first entry not before `key`. */
  #lowerBound(key: { finishedAt: number; seq: number }): number {
    let lo = this.#start
    let hi = this.#items.length
    if (lo === hi || byFinish(this.#items[hi - 1] as Finished, key) < 0) return hi
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (byFinish(this.#items[mid] as Finished, key) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  add(j: StoredJob): void {
    const e: Finished = { id: j.id, finishedAt: j.finishedAt as number, seq: j.seq }
    const i = this.#lowerBound(e)
    if (i === this.#items.length) this.#items.push(e)
    else if (i === this.#start && this.#start > 0) this.#items[--this.#start] = e
    else this.#items.splice(i, 0, e)
  }

  delete(j: StoredJob): void {
    const i = this.#lowerBound({ finishedAt: j.finishedAt as number, seq: j.seq })
    if (this.#items[i]?.id !== j.id) return
    if (i === this.#start) {
      this.#items[this.#start++] = undefined
      // Give the space of deleted entries back now and then, not on every delete.
      if (this.#start > 1024 && this.#start * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#start)
        this.#start = 0
      }
    } else this.#items.splice(i, 1)
  }

  /** The ids `StoreReadTx.finished` asks for. */
  query(q: FinishedQuery): string[] {
    const end = q.before === undefined ? this.#items.length : this.#lowerBound({ finishedAt: q.before, seq: -Infinity })
    const offset = q.offset ?? 0
    const out: string[] = []
    if (q.newest) for (let i = end - 1 - offset; i >= this.#start && out.length < q.limit; i--) out.push((this.#items[i] as Finished).id)
    else for (let i = this.#start + offset; i < end && out.length < q.limit; i++) out.push((this.#items[i] as Finished).id)
    return out
  }
}

function* take<T>(list: SortedList<T>, limit: number): Generator<T> {
  if (limit <= 0) return
  let n = 0
  for (const v of list.values()) {
    yield v
    if (++n >= limit) return
  }
}

/** The entries of sorted lists, merged in dispatch order. */
function* mergeBySeq(lists: SortedList<Entry>[]): Generator<Entry> {
  const its = lists.filter((l) => l.size > 0).map((l) => l.values())
  const heads = its.map((it) => it.next())
  for (;;) {
    let best = -1
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i] as IteratorResult<Entry>
      if (!h.done && (best < 0 || h.value.seq < (heads[best] as IteratorYieldResult<Entry>).value.seq)) best = i
    }
    if (best < 0) return
    yield (heads[best] as IteratorYieldResult<Entry>).value
    heads[best] = (its[best] as IterableIterator<Entry>).next()
  }
}

function* ids(entries: Iterable<Entry>): Generator<string> {
  for (const e of entries) yield e.id
}

function inScope(j: StoredJob, scope: QueueScope): boolean {
  return scope.queues.includes(j.queue) && scope.types.includes(j.type)
}

/** Whether a value can be changed by whoever holds it (and so must be cloned), or fail to clone. */
function mayChange(v: unknown): boolean {
  return (typeof v === 'object' && v !== null) || typeof v === 'function' || typeof v === 'symbol'
}

/** A chain or batch to keep: its callbacks' payloads cloned when they are new. */
function ownCallbacks<G extends { callbacks: object }>(g: G, prev: G | undefined): G {
  return g.callbacks === prev?.callbacks ? g : { ...g, callbacks: clone(g.callbacks) }
}

/**
 * What a call returns, detached from what is stored: arrays and plain objects copied, the
 * application values in them (`payload`, `result`, ...) structured-cloned when they are objects.
 */
function copyOut<T>(v: T): T {
  return copy(v, false) as T
}

function copy(v: unknown, value: boolean): unknown {
  if (typeof v !== 'object' || v === null) return v
  if (value) return clone(v)
  if (Array.isArray(v)) {
    const out = new Array<unknown>(v.length)
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i]
      out[i] = typeof x !== 'object' || x === null ? x : copy(x, false)
    }
    return out
  }
  const proto = Object.getPrototypeOf(v) as unknown
  if (proto !== Object.prototype && proto !== null) return clone(v)
  const out: Record<string, unknown> = {}
  for (const k in v) {
    const x = (v as Record<string, unknown>)[k]
    out[k] = typeof x !== 'object' || x === null ? x : copy(x, VALUE_KEYS.has(k))
  }
  return out
}

function clone<T>(v: T): T {
  try {
    return structuredClone(v)
  } catch (err) {
    throw new SerializationError(`cannot store this value: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
