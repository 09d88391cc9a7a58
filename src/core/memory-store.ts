/**
 * `memoryStore()`: the reference store, kept in this JavaScript realm. The default of
 * `createQueue` and the store of `createTestQueue`. Nothing survives the process.
 *
 * Transactions run one at a time. Writes apply at once, so later reads in the same
 * transaction see them, and each write records how to undo itself: a transaction that throws
 * is rolled back completely. Application values (payloads, results) are structured-cloned on
 * the way in and whatever a call returns is cloned on the way out, so a caller holding one
 * cannot change what is stored, and a value that cannot be cloned is a `SerializationError`
 * with nothing written.
 *
 * @module
 */
import { defineStore } from './define-store.js'
import { InvalidArgumentError, SerializationError } from './errors.js'
import { exclusiveLiveness } from './liveness.js'
import { SortedList } from './sorted-list.js'
import type { QueueScope, StoreBackend, StoreTx } from './store-backend.js'
import type { Store, StoredBatch, StoredChain, StoredJob, StoredSchedule } from './store.js'
import type { Counts } from './types.js'

type Entry = { id: string; priority: number; runAt: number; seq: number }

const byClaimOrder = (a: Entry, b: Entry): number =>
  b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq || cmp(a.id, b.id)
const byRunAt = (a: Entry, b: Entry): number => a.runAt - b.runAt || a.seq - b.seq || cmp(a.id, b.id)
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The fields of a job that hold the application's values, which the store must copy. */
const VALUE_FIELDS = ['payload', 'result', 'progress', 'error', 'previousResult', 'groupError'] as const

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
  /** delayed jobs: queue -> runAt order */
  readonly #delayed = new Map<string, SortedList<Entry>>()
  readonly #active = new Set<string>()
  readonly #unique = new Map<string, Set<string>>()
  readonly #counts: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }
  #seq = 0
  #tail: Promise<unknown> = Promise.resolve()

  async write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> {
    if (opts?.tx !== undefined) {
      throw new InvalidArgumentError('the memory store has no transaction of its own to join: dispatch without { tx }')
    }
    return this.#exclusive(async () => {
      const undo: (() => void)[] = []
      try {
        return clone(await fn(this.#tx(undo)))
      } catch (err) {
        for (let i = undo.length - 1; i >= 0; i--) undo[i]?.()
        throw err
      }
    })
  }

  async read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => clone(await fn(this.#tx(null))))
  }

  async close(): Promise<void> {
    await this.#exclusive(async () => undefined)
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  #tx(undo: (() => void)[] | null): StoreTx {
    const writable = <A extends unknown[]>(f: (...a: A) => void) => async (...a: A): Promise<void> => {
      if (!undo) throw new Error('write in a read transaction')
      f(...a)
    }
    const putIn = <V>(map: Map<string, V>, id: string, v: V | undefined): void => {
      const prev = map.get(id)
      undo?.push(() => (prev === undefined ? map.delete(id) : map.set(id, prev)))
      if (v === undefined) map.delete(id)
      else map.set(id, v)
    }
    const setJob = (id: string, next: StoredJob | undefined): void => {
      const prev = this.#jobs.get(id)
      this.#setJob(id, next)
      undo?.push(() => this.#setJob(id, prev))
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
      ready: async (scope, limit) => this.#ready(scope, limit),
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
      listJobs: async (f) => {
        const match = <T>(want: T | T[] | undefined, v: T | undefined): boolean =>
          want === undefined || (Array.isArray(want) ? want.includes(v as T) : want === v)
        const all = [...this.#jobs.values()]
          .filter(
            (j) =>
              match(f.state, j.state) &&
              match(f.type, j.type) &&
              match(f.queue, j.queue) &&
              match(f.batchId, j.batchId) &&
              match(f.chainId, j.chainId),
          )
          .sort((a, b) => a.seq - b.seq)
        const offset = f.offset ?? 0
        return all.slice(offset, offset + (f.limit ?? 100))
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
      getSchedule: async (name) => this.#schedules.get(name),
      listSchedules: async () => [...this.#schedules.values()].sort((a, b) => cmp(a.name, b.name)),
      dueSchedules: async (now, limit) =>
        [...this.#schedules.values()]
          .filter((sc) => sc.nextRunAt <= now)
          .sort((a, b) => a.nextRunAt - b.nextRunAt)
          .slice(0, limit),
      nextScheduleAt: async () => {
        let min: number | undefined
        for (const sc of this.#schedules.values()) if (min === undefined || sc.nextRunAt < min) min = sc.nextRunAt
        return min
      },
      nextSeq: async () => {
        const prev = this.#seq
        undo?.push(() => (this.#seq = prev))
        return ++this.#seq
      },
      putJob: writable((j: StoredJob) => setJob(j.id, this.#own(j))),
      deleteJob: writable((id: string) => setJob(id, undefined)),
      putChain: writable((c: StoredChain) => putIn(this.#chains, c.id, clone(c))),
      deleteChain: writable((id: string) => putIn(this.#chains, id, undefined)),
      putBatch: writable((b: StoredBatch) => putIn(this.#batches, b.id, clone(b))),
      deleteBatch: writable((id: string) => putIn(this.#batches, id, undefined)),
      putSchedule: writable((sc: StoredSchedule) => putIn(this.#schedules, sc.name, clone(sc))),
      deleteSchedule: writable((name: string) => putIn(this.#schedules, name, undefined)),
    }
  }

  /**
   * The record to keep for `j`: a copy whose values from outside (a new payload, a result) are
   * cloned. Values the stored record holds already are shared, not cloned again: records are
   * never changed in place, only replaced.
   */
  #own(j: StoredJob): StoredJob {
    const prev = this.#jobs.get(j.id)
    const rec: StoredJob = { ...j }
    for (const f of VALUE_FIELDS) {
      const v = rec[f]
      if (v !== undefined && v !== prev?.[f]) (rec as unknown as Record<string, unknown>)[f] = clone(v)
    }
    return rec
  }

  #ready(scope: QueueScope, limit: number): StoredJob[] {
    // Merge the heads of each (queue, type) list: the lists are small in number.
    const lists: SortedList<Entry>[] = []
    for (const q of scope.queues) {
      const byType = this.#waiting.get(q)
      for (const t of scope.types) {
        const l = byType?.get(t)
        if (l && l.size > 0) lists.push(l)
      }
    }
    if (lists.length === 1) return [...take(lists[0] as SortedList<Entry>, limit)].map((e) => this.#jobs.get(e.id) as StoredJob)
    const heads = lists.map((l) => l.values())
    const current = heads.map((h) => h.next())
    const out: StoredJob[] = []
    while (out.length < limit) {
      let best = -1
      for (let i = 0; i < current.length; i++) {
        const c = current[i]
        if (c && !c.done && (best < 0 || byClaimOrder(c.value, (current[best] as IteratorYieldResult<Entry>).value) < 0)) best = i
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
  }

  #index(j: StoredJob): void {
    this.#counts[j.state]++
    if (j.state === 'waiting') this.#waitingList(j).add(entry(j))
    else if (j.state === 'delayed') this.#delayedList(j.queue).add(entry(j))
    else if (j.state === 'active') this.#active.add(j.id)
    if (j.uniqueKey !== undefined) {
      let ids = this.#unique.get(j.uniqueKey)
      if (!ids) this.#unique.set(j.uniqueKey, (ids = new Set()))
      ids.add(j.id)
    }
  }

  #unindex(j: StoredJob): void {
    this.#counts[j.state]--
    if (j.state === 'waiting') this.#waitingList(j).delete(entry(j))
    else if (j.state === 'delayed') this.#delayedList(j.queue).delete(entry(j))
    else if (j.state === 'active') this.#active.delete(j.id)
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

  #delayedList(queue: string): SortedList<Entry> {
    let list = this.#delayed.get(queue)
    if (!list) this.#delayed.set(queue, (list = new SortedList(byRunAt)))
    return list
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

function inScope(j: StoredJob, scope: QueueScope): boolean {
  return scope.queues.includes(j.queue) && scope.types.includes(j.type)
}

function clone<T>(v: T): T {
  try {
    return structuredClone(v)
  } catch (err) {
    throw new SerializationError(`cannot store this value: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
