/**
 * `job(type, payload)` and its immutable builder: every method returns a new spec.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js'
import type { Backoff, JobMap, JobMeta } from './types.js'

/** What a spec says about its job, read by the queue when it dispatches. */
export interface SpecOptions {
  readonly type: string
  readonly payload: unknown
  readonly queue?: string
  readonly delayMs?: number
  readonly runAt?: number
  readonly timeoutMs?: number
  readonly retry?: number
  readonly backoff?: number | Backoff
  readonly uniqueForMs?: number
  readonly uniqueKey?: string
  readonly priority?: number
  readonly id?: string
  readonly meta?: JobMeta
  /** Makes the payload at dispatch, before the write: see `withPrepare`. */
  readonly prepare?: () => Promise<unknown>
}

export interface JobSpec<T extends string = string, P = unknown> {
  readonly type: T
  readonly payload: P
  /** The queue the job goes to. @default 'default' (or the chain's or batch's queue) */
  onQueue(name: string): JobSpec<T, P>
  /** Run no earlier than dispatch time + `ms`. */
  delay(ms: number): JobSpec<T, P>
  /** Run no earlier than `at`. */
  runAt(at: Date | number): JobSpec<T, P>
  /** Time allowed for each attempt; past it the attempt fails with `JobTimeoutError`. */
  timeout(ms: number): JobSpec<T, P>
  /** Retries after the first attempt: attempts = n + 1. @default 3 */
  retry(n: number): JobSpec<T, P>
  /** Wait before a retry: a number is a fixed delay in ms. @default exponential from 1 s, max 5 min, jitter */
  backoff(b: number | Backoff): JobSpec<T, P>
  /**
   * While a job with the same key was dispatched less than `ms` ago, dispatching returns that
   * job's id with `duplicate: true` and writes nothing.
   * @default key: the type and the canonical JSON of the payload
   */
  uniqueFor(ms: number, key?: string): JobSpec<T, P>
  /** Higher runs first. @default 0 */
  priority(n: number): JobSpec<T, P>
  /** A caller-chosen id; dispatching an id that exists writes nothing. */
  withId(id: string): JobSpec<T, P>
  /**
   * Small, JSON-safe metadata kept on the record and given to the handler as `ctx.meta` (a user
   * id, a request id). Merged over what earlier calls set.
   */
  meta(m: JobMeta): JobSpec<T, P>
}

/** A spec for any job type of a job map, with the payload type that type requires. */
export type SpecOf<J extends JobMap> = { [K in keyof J & string]: JobSpec<K, J[K]> }[keyof J & string]

class Spec<T extends string, P> implements JobSpec<T, P> {
  readonly #o: SpecOptions

  constructor(o: SpecOptions) {
    this.#o = Object.freeze(o)
  }

  static options(spec: unknown): SpecOptions | undefined {
    return spec instanceof Spec ? spec.#o : undefined
  }

  get type(): T {
    return this.#o.type as T
  }
  get payload(): P {
    return this.#o.payload as P
  }

  #with(patch: Partial<SpecOptions>): Spec<T, P> {
    return new Spec({ ...this.#o, ...patch })
  }

  onQueue(name: string): JobSpec<T, P> {
    return this.#with({ queue: nonEmpty('queue name', name) })
  }
  delay(ms: number): JobSpec<T, P> {
    const { runAt: _, ...rest } = this.#o
    return new Spec({ ...rest, delayMs: nonNegative('delay', ms) })
  }
  runAt(at: Date | number): JobSpec<T, P> {
    const t = at instanceof Date ? at.getTime() : at
    if (!Number.isFinite(t)) throw new InvalidArgumentError(`runAt must be a valid date or a number of ms, got ${String(at)}`)
    const { delayMs: _, ...rest } = this.#o
    return new Spec({ ...rest, runAt: t })
  }
  timeout(ms: number): JobSpec<T, P> {
    if (!(ms > 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`timeout must be a positive number of ms, got ${ms}`)
    return this.#with({ timeoutMs: ms })
  }
  retry(n: number): JobSpec<T, P> {
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`retry must be a whole number >= 0, got ${n}`)
    return this.#with({ retry: n })
  }
  backoff(b: number | Backoff): JobSpec<T, P> {
    return this.#with({ backoff: checkBackoff(b) })
  }
  uniqueFor(ms: number, key?: string): JobSpec<T, P> {
    if (!(ms > 0) || !Number.isFinite(ms)) throw new InvalidArgumentError(`uniqueFor must be a positive number of ms, got ${ms}`)
    return this.#with(key === undefined ? { uniqueForMs: ms } : { uniqueForMs: ms, uniqueKey: nonEmpty('unique key', key) })
  }
  priority(n: number): JobSpec<T, P> {
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`priority must be a finite number, got ${n}`)
    return this.#with({ priority: n })
  }
  withId(id: string): JobSpec<T, P> {
    return this.#with({ id: nonEmpty('job id', id) })
  }
  meta(m: JobMeta): JobSpec<T, P> {
    return this.#with({ meta: checkMeta({ ...this.#o.meta, ...checkMeta(m) }) })
  }
}

/** Keys a job's metadata may have at most. */
export const META_MAX_KEYS = 32
/** The largest metadata, as JSON, in UTF-16 code units. */
export const META_MAX_LENGTH = 4096

/**
 * Metadata checked and copied: a plain object of at most `META_MAX_KEYS` keys whose values are
 * strings, finite numbers or booleans, at most `META_MAX_LENGTH` long as JSON.
 */
export function checkMeta(m: unknown): JobMeta {
  if (typeof m !== 'object' || m === null || Array.isArray(m) || (Object.getPrototypeOf(m) !== Object.prototype && Object.getPrototypeOf(m) !== null)) {
    throw new InvalidArgumentError('meta must be a plain object of strings, numbers and booleans')
  }
  const out: JobMeta = {}
  const keys = Object.keys(m)
  if (keys.length > META_MAX_KEYS) throw new InvalidArgumentError(`meta may have at most ${META_MAX_KEYS} keys, got ${keys.length}`)
  for (const k of keys) {
    nonEmpty('a meta key', k)
    if (k === '__proto__') throw new InvalidArgumentError('meta may not have the key __proto__')
    const v = (m as Record<string, unknown>)[k]
    if (typeof v === 'string') nonEmpty(`meta.${k}`, v.length === 0 ? ' ' : v)
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidArgumentError(`meta.${k} must be a finite number, got ${v}`)
    } else if (typeof v !== 'boolean') throw new InvalidArgumentError(`meta.${k} must be a string, a number or a boolean, got ${v === null ? 'null' : typeof v}`)
    out[k] = v
  }
  const length = JSON.stringify(out).length
  if (length > META_MAX_LENGTH) throw new InvalidArgumentError(`meta must be at most ${META_MAX_LENGTH} characters as JSON, got ${length}`)
  return out
}

/**
 * A spec for one job.
 * @example queue.dispatch(job('email:send', { to: 'a@b.c' }).retry(5).delay(1000))
 */
export function job<T extends string, P>(type: T, payload: P): JobSpec<T, P> {
  return new Spec<T, P>({ type: nonEmpty('job type', type), payload })
}

/**
 * A spec from its options, as read back on the far side of a thread boundary. Every option is
 * checked as the builder methods check it.
 */
export function specFromOptions(o: SpecOptions): JobSpec<string, unknown> {
  let s = job(o.type, o.payload)
  if (o.queue !== undefined) s = s.onQueue(o.queue)
  if (o.delayMs !== undefined) s = s.delay(o.delayMs)
  if (o.runAt !== undefined) s = s.runAt(o.runAt)
  if (o.timeoutMs !== undefined) s = s.timeout(o.timeoutMs)
  if (o.retry !== undefined) s = s.retry(o.retry)
  if (o.backoff !== undefined) s = s.backoff(o.backoff)
  if (o.uniqueForMs !== undefined) s = s.uniqueFor(o.uniqueForMs, o.uniqueKey)
  if (o.priority !== undefined) s = s.priority(o.priority)
  if (o.id !== undefined) s = s.withId(o.id)
  if (o.meta !== undefined) s = s.meta(o.meta)
  return s
}

/**
 * A spec whose payload is made at dispatch: `dispatch`, `dispatchMany`, chains and batches
 * await `prepare()` before their transaction and write what it resolves to as the payload.
 * For payloads that take a promise to read (a `Request`'s body, a `Blob`'s bytes) behind a
 * synchronous builder such as `request()` of `ferry/http`. The builder methods keep it.
 * Such a spec cannot join the caller's transaction (`{ tx }`): a transaction of IndexedDB
 * would commit while the payload is read.
 */
export function withPrepare<T extends string, P>(spec: JobSpec<T, P>, prepare: () => Promise<P>): JobSpec<T, P> {
  if (typeof prepare !== 'function') throw new InvalidArgumentError('prepare must be a function')
  return new Spec<T, P>({ ...specOptions(spec), prepare })
}

/** Whether any of these specs has a payload made at dispatch. */
export function needsPrepare(specs: readonly unknown[]): boolean {
  return specs.some((s) => Spec.options(s)?.prepare !== undefined)
}

/** Spec options with the payload made and `prepare` left behind (a function crosses no thread). */
export async function madeOptions(o: SpecOptions): Promise<SpecOptions> {
  if (o.prepare === undefined) return o
  const { prepare, ...rest } = o
  return { ...rest, payload: await prepare() }
}

/**
 * The specs with their payloads made (see `withPrepare`), in order; others as they are. A
 * caller's transaction is refused before anything is read.
 */
export async function prepareSpecs(specs: readonly unknown[], opts?: { tx?: unknown }): Promise<unknown[]> {
  if (opts?.tx !== undefined && needsPrepare(specs)) {
    throw new InvalidArgumentError("a job whose payload is made at dispatch cannot join the caller's transaction")
  }
  return Promise.all(
    specs.map(async (s) => {
      const o = Spec.options(s)
      return o?.prepare === undefined ? s : new Spec(await madeOptions(o))
    }),
  )
}

/** The options of a spec made by `job()`; an `InvalidArgumentError` for anything else. */
export function specOptions(spec: unknown): SpecOptions {
  const o = Spec.options(spec)
  if (!o) throw new InvalidArgumentError('expected a job spec made by job(type, payload)')
  return o
}

export function checkBackoff(b: number | Backoff): number | Backoff {
  if (typeof b === 'number') return nonNegative('backoff', b)
  if (b?.type === 'fixed') {
    nonNegative('backoff delay', b.delay)
    return { ...b }
  }
  if (b?.type === 'exponential') {
    if (!(b.base > 0)) throw new InvalidArgumentError(`exponential backoff needs a base > 0, got ${b.base}`)
    if (b.max !== undefined) nonNegative('backoff max', b.max)
    return { ...b }
  }
  throw new InvalidArgumentError(`backoff must be a number of ms, { type: 'fixed' } or { type: 'exponential' }`)
}

function nonNegative(what: string, n: number): number {
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number of ms >= 0, got ${n}`)
  return n
}

/** A half of a surrogate pair without its other half: text no store can keep as it is. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/**
 * A name or an id: a non-empty string of well-formed text. A lone surrogate would be stored as
 * U+FFFD by SQLite (UTF-8), so two different ids would become one and a dispatch would be
 * taken for a duplicate.
 */
export function nonEmpty(what: string, s: string): string {
  if (typeof s !== 'string' || s.length === 0) throw new InvalidArgumentError(`${what} must be a non-empty string`)
  if (LONE_SURROGATE.test(s)) throw new InvalidArgumentError(`${what} must be well-formed text: it has half of a surrogate pair`)
  return s
}
