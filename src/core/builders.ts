/**
 * `queue.chain(...)` and `queue.batch(...)`. Builders are immutable, like job specs.
 *
 * They have no `then` method on purpose: an object with `then` is a thenable, and awaiting a
 * builder by mistake (or returning one from an async function) would hang instead of failing.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { InvalidArgumentError } from './errors.js'
import { checkMeta, needsPrepare, nonEmpty, prepareSpecs, type JobSpec } from './job-spec.js'
import { queuesOf, type DispatchCall, type DispatchedJob } from './instrumentation.js'
import type { CallbackDraft, NewBatch, NewChain, NewJob } from './store.js'
import { dispatchedJob, resolveCallback, resolveSpec, type JobDefaults } from './resolve-spec.js'
import type { JobMeta } from './types.js'

/** What a builder needs from its queue. */
export interface BuilderHost {
  now(): number
  defaults: JobDefaults
  /** The queue's `version`, stored as each job's `dispatchedBy`. */
  version?: string | undefined
  /**
   * Runs `write` inside the queue's instrumentation, `onDispatch` called for each of `jobs`
   * first, synchronously; `write` gets the metadata to store for each (see `instrumented`).
   */
  dispatching<T>(call: DispatchCall, jobs: readonly DispatchedJob[], write: (meta: Array<JobMeta | undefined>) => Promise<T>): Promise<T>
  insertChain(chain: NewChain, opts?: { tx?: unknown }): Promise<void>
  insertBatch(batch: NewBatch, opts?: { tx?: unknown }): Promise<void>
}

type Callback = JobSpec<string, unknown>

export interface ChainBuilder {
  /** Default queue for steps (and callbacks) that set none. */
  onQueue(name: string): ChainBuilder
  /** A caller-chosen chain id: dispatching a chain whose id exists writes nothing, so a retry is safe. */
  withId(id: string): ChainBuilder
  /** Enqueued once when every step succeeded. */
  onSuccess(spec: Callback): ChainBuilder
  /** Enqueued once when a step fails for good; its `ctx.error` is that step's error. */
  onError(spec: Callback): ChainBuilder
  /** Enqueued once when the chain is finished, either way. */
  onSettled(spec: Callback): ChainBuilder
  /** Writes the chain and its steps in one transaction; resolves to the chain id. */
  dispatch(opts?: { tx?: unknown }): Promise<string>
}

export interface BatchBuilder {
  name(name: string): BatchBuilder
  /** A caller-chosen batch id: dispatching a batch whose id exists writes nothing, so a retry is safe. */
  withId(id: string): BatchBuilder
  /** Default queue for jobs (and callbacks) that set none. */
  onQueue(name: string): BatchBuilder
  /** Keep going when jobs fail. */
  allowFailures(): BatchBuilder
  /** Enqueued as jobs finish, coalesced: at most one waits at a time. */
  onProgress(spec: Callback): BatchBuilder
  /** Enqueued once, when every job succeeded. */
  onSuccess(spec: Callback): BatchBuilder
  /** Enqueued once, on the first job that fails for good. */
  onError(spec: Callback): BatchBuilder
  /** Enqueued once, when the batch is finished or cancelled. */
  onSettled(spec: Callback): BatchBuilder
  /** Writes the batch and its jobs in one transaction; resolves to the batch id. */
  dispatch(opts?: { tx?: unknown }): Promise<string>
}

interface ChainPlan {
  specs: readonly unknown[]
  id?: string
  queue?: string
  success?: Callback
  error?: Callback
  settled?: Callback
}

export function chainBuilder(host: BuilderHost, plan: ChainPlan): ChainBuilder {
  const next = (p: Partial<ChainPlan>): ChainBuilder => chainBuilder(host, { ...plan, ...p })
  return {
    onQueue: (queue) => next({ queue }),
    withId: (id) => next({ id: nonEmpty('an id', id) }),
    onSuccess: (success) => next({ success }),
    onError: (error) => next({ error }),
    onSettled: (settled) => next({ settled }),
    async dispatch(opts) {
      if (plan.specs.length === 0) throw new InvalidArgumentError('a chain needs at least one job')
      const id = plan.id ?? nanoid()
      const drawn = plan.specs.map((s) => dispatchedJob(s, plan.queue))
      return host.dispatching({ kind: 'chain', id, count: drawn.length, queues: queuesOf(drawn) }, drawn, async (meta) => {
        const p = needsPrepare([...plan.specs, plan.success, plan.error, plan.settled]) ? { ...plan, ...(await prepared(plan, opts)) } : plan
        const steps = resolveAll(host, p.specs, drawn, meta, plan.queue)
        const cb = callbackOf(host, steps, plan.queue)
        const chain: NewChain = { id, steps, callbacks: withoutUndefined({ success: cb(p.success), error: cb(p.error), settled: cb(p.settled) }) }
        await host.insertChain(chain, opts)
        return id
      })
    },
  }
}

interface BatchPlan {
  specs: readonly unknown[]
  id?: string
  name?: string
  queue?: string
  allowFailures?: boolean
  progress?: Callback
  success?: Callback
  error?: Callback
  settled?: Callback
}

export function batchBuilder(host: BuilderHost, plan: BatchPlan): BatchBuilder {
  const next = (p: Partial<BatchPlan>): BatchBuilder => batchBuilder(host, { ...plan, ...p })
  return {
    name: (name) => next({ name }),
    withId: (id) => next({ id: nonEmpty('an id', id) }),
    onQueue: (queue) => next({ queue }),
    allowFailures: () => next({ allowFailures: true }),
    onProgress: (progress) => next({ progress }),
    onSuccess: (success) => next({ success }),
    onError: (error) => next({ error }),
    onSettled: (settled) => next({ settled }),
    async dispatch(opts) {
      if (plan.specs.length === 0) throw new InvalidArgumentError('a batch needs at least one job')
      const id = plan.id ?? nanoid()
      const drawn = plan.specs.map((s) => dispatchedJob(s, plan.queue))
      return host.dispatching({ kind: 'batch', id, count: drawn.length, queues: queuesOf(drawn) }, drawn, async (meta) => {
        const callbacks = [plan.progress, plan.success, plan.error, plan.settled]
        const p = needsPrepare([...plan.specs, ...callbacks]) ? { ...plan, ...(await prepared(plan, opts)) } : plan
        const jobs = resolveAll(host, p.specs, drawn, meta, plan.queue)
        const cb = callbackOf(host, jobs, plan.queue)
        const batch: NewBatch = {
          id,
          jobs,
          allowFailures: plan.allowFailures ?? false,
          callbacks: withoutUndefined({ progress: cb(p.progress), success: cb(p.success), error: cb(p.error), settled: cb(p.settled) }),
        }
        if (plan.name !== undefined) batch.name = plan.name
        await host.insertBatch(batch, opts)
        return id
      })
    },
  }
}

/** The jobs of a group's specs, with the ids drawn and the metadata settled at dispatch. */
function resolveAll(host: BuilderHost, specs: readonly unknown[], drawn: readonly DispatchedJob[], meta: Array<JobMeta | undefined>, queue?: string): NewJob[] {
  const now = host.now()
  return specs.map((s, i) => resolveSpec(s, now, host.defaults, queue, { id: (drawn[i] as DispatchedJob).id, meta: meta[i], dispatchedBy: host.version }))
}

/**
 * Makes a group's callback drafts: a callback job inherits the metadata every job of its group
 * shares (the same value in all), overlaid by its own spec's. Should the two together pass the
 * limits of `checkMeta`, the spec's own metadata is kept alone.
 */
function callbackOf(host: BuilderHost, jobs: readonly NewJob[], queue?: string): (s: Callback | undefined) => CallbackDraft | undefined {
  const shared = sharedMeta(jobs.map((j) => j.meta))
  return (s) => {
    if (s === undefined) return undefined
    const draft = resolveCallback(s, host.defaults, queue, host.version)
    if (shared === undefined) return draft
    let meta: JobMeta = { ...shared, ...draft.meta }
    try {
      meta = checkMeta(meta)
    } catch {
      if (draft.meta === undefined) return draft
      meta = draft.meta
    }
    return { ...draft, meta }
  }
}

/** The key/value pairs every one of these has, with the same value; undefined when none. */
export function sharedMeta(metas: ReadonlyArray<JobMeta | undefined>): JobMeta | undefined {
  const [first, ...rest] = metas
  if (first === undefined) return undefined
  const out: JobMeta = {}
  for (const [k, v] of Object.entries(first)) if (rest.every((m) => m !== undefined && Object.hasOwn(m, k) && m[k] === v)) out[k] = v
  return Object.keys(out).length === 0 ? undefined : out
}

/** The plan's specs and callbacks with their payloads made at dispatch (see `withPrepare`). */
async function prepared<P extends { specs: readonly unknown[] }>(plan: P, opts?: { tx?: unknown }): Promise<Partial<P>> {
  const keys = (['progress', 'success', 'error', 'settled'] as const).filter((k) => k in plan && (plan as Record<string, unknown>)[k] !== undefined)
  const made = await prepareSpecs([...plan.specs, ...keys.map((k) => (plan as Record<string, unknown>)[k])], opts)
  const out: Record<string, unknown> = { specs: made.slice(0, plan.specs.length) }
  keys.forEach((k, i) => (out[k] = made[plan.specs.length + i]))
  return out as Partial<P>
}

function withoutUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> }
}
