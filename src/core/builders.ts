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
import { needsPrepare, nonEmpty, prepareSpecs, type JobSpec } from './job-spec.js'
import type { NewBatch, NewChain } from './store.js'
import { resolveCallback, resolveSpec, type JobDefaults } from './resolve-spec.js'

/** What a builder needs from its queue. */
export interface BuilderHost {
  now(): number
  defaults: JobDefaults
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
      if (needsPrepare([...plan.specs, plan.success, plan.error, plan.settled])) return next(await prepared(plan, opts)).dispatch(opts)
      const now = host.now()
      const cb = (s: Callback | undefined) => (s === undefined ? undefined : resolveCallback(s, host.defaults, plan.queue))
      const chain: NewChain = {
        id: plan.id ?? nanoid(),
        steps: plan.specs.map((s) => resolveSpec(s, now, host.defaults, plan.queue)),
        callbacks: withoutUndefined({ success: cb(plan.success), error: cb(plan.error), settled: cb(plan.settled) }),
      }
      await host.insertChain(chain, opts)
      return chain.id
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
      const callbacks = [plan.progress, plan.success, plan.error, plan.settled]
      if (needsPrepare([...plan.specs, ...callbacks])) return next(await prepared(plan, opts)).dispatch(opts)
      const now = host.now()
      const cb = (s: Callback | undefined) => (s === undefined ? undefined : resolveCallback(s, host.defaults, plan.queue))
      const batch: NewBatch = {
        id: plan.id ?? nanoid(),
        jobs: plan.specs.map((s) => resolveSpec(s, now, host.defaults, plan.queue)),
        allowFailures: plan.allowFailures ?? false,
        callbacks: withoutUndefined({
          progress: cb(plan.progress),
          success: cb(plan.success),
          error: cb(plan.error),
          settled: cb(plan.settled),
        }),
      }
      if (plan.name !== undefined) batch.name = plan.name
      await host.insertBatch(batch, opts)
      return batch.id
    },
  }
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
