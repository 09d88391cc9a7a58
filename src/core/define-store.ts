/**
 * `defineStore(backend)`: a full `Store` from a backend that can run transactions. The memory,
 * IndexedDB and SQLite stores are all made this way, so they share every rule.
 *
 * @module
 */
import { corruptError } from './damaged.js'
import { QueueClosedError } from './errors.js'
import { cancel, prunePage, replay } from './operations/admin.js'
import { insert } from './operations/insert.js'
import { replayGroup } from './operations/replay-group.js'
import { progress, renew } from './operations/leases.js'
import { settleAndClaim } from './operations/settle-and-claim.js'
import { checkJobFacts } from './operations/insert.js'
import type { Liveness } from './liveness.js'
import { checkStorable } from './storable.js'
import { deleteSchedule, putSchedule } from './operations/schedules.js'
import type { StoreBackend } from './store-backend.js'
import type { Store, StoredJob } from './store.js'
import { batchView } from './transitions.js'
import type { ChainState, Clock, Counts, JobState, QueueEvent } from './types.js'

export interface DefineStoreOptions {
  /**
   * What tells engines on the store which engines are alive (see `Store.liveness`). Leave it
   * out unless it sees every engine that can reach the storage.
   * @default undefined (a dead engine's jobs come back when their leases run out)
   */
  liveness?: Liveness
  /**
   * The time engines on the store use when their queue is given no clock (see `Store.clock`).
   * @default undefined (the system clock)
   */
  clock?: Clock
}

/** The backend of each store made here, for the conformance suite's backend tests. */
const backends = new WeakMap<Store, StoreBackend>()

/** The backend a store was made of with `defineStore`; undefined for any other store. */
export function storeBackend(store: Store): StoreBackend | undefined {
  return backends.get(store)
}

export function defineStore(backend: StoreBackend, options: DefineStoreOptions = {}): Store {
  let closed = false
  const watchers = new Set<(events: QueueEvent[]) => void>()
  let unshare: (() => void) | undefined
  const deliver = (events: QueueEvent[]): void => {
    for (const w of [...watchers]) {
      try {
        w(events)
      } catch {
        // A watcher's failure is its own; the write has committed.
      }
    }
  }
  /** After a write of this context commits: watchers here, then the other contexts. */
  const notify = <T extends { events: QueueEvent[] }>(out: T, always = false): T => {
    if (out.events.length > 0 || always) {
      deliver(out.events)
      backend.share?.publish(out.events)
    }
    return out
  }
  const open = (): void => {
    if (closed) throw new QueueClosedError('the store is closed')
  }
  const write: StoreBackend['write'] = async (fn, opts) => {
    open()
    return backend.write(fn, opts)
  }
  const read: StoreBackend['read'] = async (fn) => {
    open()
    return backend.read(fn)
  }
  const store: Store = {
    ...(options.liveness ? { liveness: options.liveness } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    async insert(input, opts) {
      const out = await write((tx) => insert(tx, input), opts)
      // Joined to the caller's transaction: the jobs exist only once it commits.
      if (opts?.tx !== undefined && backend.committed) void backend.committed(opts.tx).then((ok) => ok && notify(out), () => undefined)
      else notify(out)
      return out
    },
    settleAndClaim: async (input) => {
      // A result that cannot be stored fails the whole call; the engine then settles each
      // attempt alone and fails the one whose result it was.
      for (const s of input.settle) if (s.outcome.kind === 'succeeded') checkStorable(s.outcome.result, 'result', `job ${s.id}`)
      return notify(await write((tx) => settleAndClaim(tx, input)))
    },
    renew: (input) => write((tx) => renew(tx, input)),
    async progress(input) {
      checkStorable(input.progress, 'progress', `job ${input.id}`)
      const held = await write((tx) => progress(tx, input))
      if (held) notify({ events: [{ kind: 'job:progress', at: input.now ?? Date.now(), jobId: input.id, progress: input.progress }] })
      return held
    },
    cancel: async (input) => notify(await write((tx) => cancel(tx, input))),
    replay: async (input) => notify(await write((tx) => replay(tx, input))),
    replayGroup: async (input) =>
      notify(
        await write(async (tx) => {
          // A damaged chain or batch cannot be replayed: what it ran is not known.
          const group = input.group === 'chain' ? await tx.getChain(input.id) : await tx.getBatch(input.id)
          const damaged = group && corruptError(group)
          if (damaged) throw damaged
          return replayGroup(tx, input)
        }),
      ),
    async prune({ before }) {
      let total = 0
      for (;;) {
        const { deleted, more } = await write((tx) => prunePage(tx, before))
        total += deleted
        if (!more) return total
      }
    },
    async putSchedule(input) {
      checkStorable(input.schedule.job.payload, 'payload', `schedule ${input.schedule.name} (${input.schedule.job.type})`)
      checkJobFacts(input.schedule.job, `schedule ${input.schedule.name} (${input.schedule.job.type})`)
      await write((tx) => putSchedule(tx, input))
      // Engines recompute when to wake up.
      notify({ events: [] }, true)
    },
    deleteSchedule: (name) => write((tx) => deleteSchedule(tx, name)),
    listSchedules: () => read((tx) => tx.listSchedules()),
    getJob: (id) => read((tx) => tx.getJob(id)),
    listJobs: (filter, now) => read((tx) => tx.listJobs(filter, now)),
    counts: (now) => read(async (tx) => known(await tx.counts(now))),
    getChain: (id) => read(async (tx): Promise<ChainState | undefined> => {
      const ch = await tx.getChain(id)
      if (!ch) return undefined
      const damaged = corruptError(ch)
      if (damaged) throw damaged
      const jobs = await Promise.all(ch.jobIds.map((jobId) => tx.getJob(jobId)))
      const steps: ChainState['steps'] = ch.jobIds.map((jobId, i) => ({ jobId, type: jobs[i]?.type ?? 'unknown', state: jobs[i]?.state ?? 'cancelled' }))
      const view: ChainState = { id: ch.id, state: ch.state, steps, current: ch.current, createdAt: ch.createdAt }
      if (ch.finishedAt !== undefined) view.finishedAt = ch.finishedAt
      return view
    }),
    getBatch: (id) => read(async (tx) => {
      const b = await tx.getBatch(id)
      const damaged = b && corruptError(b)
      if (damaged) throw damaged
      return b && batchView(b, await tx.batchJobIds(id))
    }),
    watch(listener) {
      const l = (events: QueueEvent[]): void => listener(events)
      watchers.add(l)
      unshare ??= backend.share?.subscribe(deliver)
      return () => {
        watchers.delete(l)
        if (watchers.size === 0) {
          unshare?.()
          unshare = undefined
        }
      }
    },
    async close() {
      if (closed) return
      closed = true
      watchers.clear()
      unshare?.()
      unshare = undefined
      await backend.close()
    },
  }
  backends.set(store, backend)
  return store
}

const STATES: readonly JobState[] = ['waiting', 'delayed', 'active', 'blocked', 'succeeded', 'failed', 'cancelled']

/** Counts of the states jobs can be in: a record with any other state (a damaged one) is left out. */
function known(counts: Counts): Counts {
  if (Object.keys(counts).every((k) => (STATES as readonly string[]).includes(k))) return counts
  const out = {} as Counts
  for (const k of STATES) if (k in counts) out[k] = counts[k]
  return out
}

/** A job's state as users see it: a delayed job whose time has come is waiting. */
export function present(j: StoredJob, now: number): StoredJob['state'] {
  return j.state === 'delayed' && j.runAt <= now ? 'waiting' : j.state
}
