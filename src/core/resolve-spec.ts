/**
 * From a spec to the job the store writes: the queue's defaults applied, the id drawn, the
 * unique key computed.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { DEFAULT_BACKOFF, DEFAULT_RETRY } from './backoff.js'
import { canonicalJson } from './canonical-json.js'
import { checkBackoff, specOptions } from './job-spec.js'
import type { CallbackDraft, NewJob } from './store.js'
import type { DispatchedJob } from './instrumentation.js'
import type { Backoff, JobMeta } from './types.js'

export interface JobDefaults {
  /** @default 3 */
  retry?: number
  /** @default exponential from 1 s, max 5 min, with jitter */
  backoff?: number | Backoff
  /** Per-attempt timeout in ms. @default none */
  timeout?: number
}

/** What a dispatch settled before its write: the id drawn, the metadata to store, the version. */
export interface Drawn {
  id: string
  meta?: JobMeta | undefined
  dispatchedBy?: string | undefined
}

/** A spec's job as instrumentation sees it at dispatch, its id drawn now if the spec has none. */
export function dispatchedJob(spec: unknown, queue = 'default'): DispatchedJob {
  const o = specOptions(spec)
  const j: DispatchedJob = { id: o.id ?? nanoid(), type: o.type, queue: o.queue ?? queue }
  if (o.meta !== undefined) j.meta = o.meta
  return j
}

/**
 * The job a spec makes. `drawn`, when given, settles its id and its metadata (in place of the
 * spec's) and names the dispatching version.
 */
export function resolveSpec(spec: unknown, now: number, defaults: JobDefaults, queue = 'default', drawn?: Drawn): NewJob {
  const o = specOptions(spec)
  const n: NewJob = {
    id: drawn?.id ?? o.id ?? nanoid(),
    type: o.type,
    queue: o.queue ?? queue,
    payload: o.payload,
    priority: o.priority ?? 0,
    maxAttempts: (o.retry ?? defaults.retry ?? DEFAULT_RETRY) + 1,
    backoff: o.backoff ?? defaults.backoff ?? DEFAULT_BACKOFF,
    runAt: o.runAt ?? now,
  }
  const timeout = o.timeoutMs ?? defaults.timeout
  if (timeout !== undefined) n.timeoutMs = timeout
  if (o.delayMs !== undefined) n.delayMs = o.delayMs
  const meta = drawn ? drawn.meta : o.meta
  if (meta !== undefined) n.meta = { ...meta }
  if (drawn?.dispatchedBy !== undefined) n.dispatchedBy = drawn.dispatchedBy
  if (o.uniqueForMs !== undefined) {
    n.uniqueKey = o.uniqueKey ?? `${o.type}:${canonicalJson(o.payload)}`
    n.uniqueUntil = now + o.uniqueForMs
  }
  return n
}

/** A callback spec, kept in its chain or batch until a transition enqueues it. */
export function resolveCallback(spec: unknown, defaults: JobDefaults, queue?: string, dispatchedBy?: string): CallbackDraft {
  const { id: _id, runAt: _r, uniqueKey: _k, uniqueUntil: _u, ...draft } = resolveSpec(spec, 0, defaults, queue)
  if (dispatchedBy !== undefined) draft.dispatchedBy = dispatchedBy
  return draft
}

export function checkDefaults(d: JobDefaults | undefined): JobDefaults {
  if (!d) return {}
  // A copy: the application may change its own object later, and jobs must not see it.
  return d.backoff === undefined ? { ...d } : { ...d, backoff: checkBackoff(d.backoff) }
}
