/**
 * One attempt of a job on an engine: the context its handler gets, the handler run through the
 * middleware, and the outcome a thrown value means.
 *
 * @module
 */
import { compose } from './middleware.js'
import { JobDeferredError, JobSkippedError, JobTimeoutError, LeaseLostError, SerializationError, UnrecoverableError, serializeError } from './errors.js'
import type { AttemptOutcome, SettleAndClaimInput, Settlement, Store, StoredJob } from './store.js'
import type { AttemptEnd, Clock, Handler, JobContext, Middleware, QueueEvent } from './types.js'

export interface Attempt {
  job: StoredJob
  token: string
  /** Made when the handler first reads its signal: most handlers never do. */
  controller?: AbortController
  /** Why the attempt was aborted, once it was. */
  abortedWith?: Error
  /** When its handler started, on the engine's clock. */
  startedAt: number
  timer?: unknown
  /** Cancel was requested while it ran. */
  cancelled: boolean
  /** Its handler has returned or thrown. */
  returned?: boolean
  /** The engine was offline at some time while it ran. */
  sawOffline?: boolean
  /** How the engine ended it, once it did (`endAttempt`). */
  end?: AttemptEnd
  /** What hears how it ended (`whenAttemptEnds`). */
  observers?: Array<(end: AttemptEnd) => void>
}

/** What an attempt needs of its engine. */
export interface AttemptHost {
  store: Store
  clock: Clock
  middleware: readonly Middleware[]
  handlers: ReadonlyMap<string, Handler<unknown>>
  /** Emits the events of a write the engine made, unless the store's watch emits them. */
  emitCommitted(events: QueueEvent[]): void
  /** Hears what an observer of an attempt's end threw (the queue's `queue:error`). */
  reportError?(error: unknown): void
}

/** The attempt each context was made for, and where what its observers throw goes. */
const attempts = new WeakMap<JobContext, { a: Attempt; report: ((error: unknown) => void) | undefined }>()

/**
 * Starts the attempt: its handler runs through the middleware, bounded by the job's timeout.
 * `ended` hears the outcome when the timeout passes (the signal aborted) or the handler returns
 * or throws, whichever comes first, and again for the other: the engine keeps the first. Whatever
 * the handler threw, working out its outcome cannot throw past this point.
 */
export function startAttempt(h: AttemptHost, a: Attempt, ended: (outcome: AttemptOutcome) => void): void {
  const { job } = a
  if (job.timeoutMs !== undefined) {
    const ms = job.timeoutMs
    a.timer = h.clock.setTimeout(() => {
      const err = new JobTimeoutError(`job ${job.id} timed out after ${ms} ms`)
      abort(a, err)
      // A job cancelled while it ran ends cancelled when its timeout passes.
      ended(a.cancelled ? { kind: 'cancelled' } : { kind: 'failed', error: serializeError(err) })
    }, ms)
  }
  void runHandler(h, a).then(
    // A cancelled job ends cancelled even when its handler ignores the signal and returns.
    (result) => {
      a.returned = true
      ended(a.cancelled ? { kind: 'cancelled' } : { kind: 'succeeded', ...(result === undefined ? {} : { result }) })
    },
    (err: unknown) => {
      a.returned = true
      let o: AttemptOutcome
      try {
        o = outcomeOf(a, err, h.clock.now())
      } catch {
        o = { kind: 'failed', error: { name: 'Error', message: 'the handler threw a value that could not be read' } }
      }
      ended(o)
    },
  )
}

/** Runs the job's handler through the middleware; resolves with its result. */
export async function runHandler(h: AttemptHost, a: Attempt): Promise<unknown> {
  const { job } = a
  const handler = h.handlers.get(job.type)
  if (!handler) throw new UnrecoverableError(`no handler for job type ${job.type}`)
  const ctx: JobContext = {
    id: job.id,
    type: job.type,
    queue: job.queue,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    createdAt: job.createdAt,
    readyAt: Math.max(job.runAt, job.createdAt),
    get signal() {
      return signalOf(a)
    },
    progress: async (value) => {
      const now = h.clock.now()
      if (!(await h.store.progress({ id: job.id, token: a.token, progress: value, now }))) {
        throw new LeaseLostError(`job ${job.id} is no longer leased to this engine`)
      }
      h.emitCommitted([{ kind: 'job:progress', at: now, jobId: job.id, progress: value }])
    },
  }
  if (job.chainId !== undefined) ctx.chainId = job.chainId
  if (job.batchId !== undefined) ctx.batchId = job.batchId
  if ('previousResult' in job) ctx.previousResult = job.previousResult
  if (job.groupError !== undefined) ctx.error = job.groupError
  if (job.meta !== undefined) ctx.meta = { ...job.meta }
  attempts.set(ctx, { a, report: h.reportError ? (err) => h.reportError?.(err) : undefined })
  const of = job.callbackOf
  if (of?.group === 'batch') {
    const b = await h.store.getBatch(of.id)
    if (b) ctx.batch = b
  } else if (of?.group === 'chain') {
    const c = await h.store.getChain(of.id)
    if (c) ctx.chain = c
  }
  // Ended while the engine prepared it (a timeout during a slow read): its middleware and handler
  // never start. What this rejects with is heard by no one: the engine kept the first outcome.
  if (a.abortedWith || a.end) throw endedWith(a)
  // A middleware may call `next` after the attempt ended (its timeout passed while it awaited):
  // the handler never starts then, and `next` rejects with why the attempt ended. Another engine
  // may be running the job by then.
  return compose(h.middleware, ctx, async () => {
    if (a.abortedWith || a.end) throw endedWith(a)
    return handler(job.payload, ctx)
  }, h.clock)
}

/** Why an attempt ended before its handler started. */
function endedWith(a: Attempt): Error {
  return a.abortedWith ?? new LeaseLostError(`the attempt of job ${a.job.id} has ended`)
}

/**
 * Calls `observer` once, when the engine has decided how the attempt `ctx` was made for ended
 * (`endAttempt`), or at once when it has ended already. Returns false, and never calls it, when
 * `ctx` is no attempt's of an engine.
 */
export function whenAttemptEnds(ctx: JobContext, observer: (end: AttemptEnd) => void): boolean {
  const of = attempts.get(ctx)
  if (!of) return false
  const hear = (end: AttemptEnd): void => {
    try {
      const out: unknown = observer(end)
      // A promise (of any realm: anything with a callable `then`) is not waited for; its
      // rejection is reported all the same.
      whenRejected(out, (err) => of.report?.(err))
    } catch (err) {
      of.report?.(err)
    }
  }
  if (of.a.end) hear(of.a.end)
  else (of.a.observers ??= []).push(hear)
  return true
}

/**
 * Gives `onRejected` what `value` rejects with, when it is a thenable (a promise of any realm);
 * nothing else happens to it. A `then` that throws is taken as a rejection.
 */
export function whenRejected(value: unknown, onRejected: (err: unknown) => void): void {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return
  try {
    const then: unknown = (value as { then?: unknown }).then
    if (typeof then !== 'function') return
    ;(then as (ok: (v: unknown) => void, fail: (err: unknown) => void) => unknown).call(value, () => {}, onRejected)
  } catch (err) {
    onRejected(err)
  }
}

/**
 * The engine ended the attempt with `outcome` (null: its lease was lost): its observers hear it,
 * once, whatever the engine says later. What an observer throws is reported, never the job's.
 */
export function endAttempt(a: Attempt, outcome: AttemptOutcome | null): void {
  if (a.end) return
  const end = endOf(a, outcome)
  a.end = end
  const observers = a.observers ?? []
  a.observers = undefined
  for (const o of observers) o(end)
}

function endOf(a: Attempt, outcome: AttemptOutcome | null): AttemptEnd {
  if (outcome === null) {
    const reason = a.abortedWith instanceof LeaseLostError ? a.abortedWith : new LeaseLostError(`job ${a.job.id} is no longer leased to this engine`)
    return { outcome: 'lost', error: serializeError(reason) }
  }
  if (outcome.kind !== 'failed') return { outcome: outcome.kind }
  const last = outcome.unrecoverable === true || a.job.attempt >= a.job.maxAttempts
  return { outcome: last ? 'failed' : 'retrying', error: outcome.error }
}

/**
 * Aborts the attempt's signal, now or when the handler first reads it. The first reason holds.
 * A lost lease ends the attempt there: the engine settles nothing for it.
 */
export function abort(a: Attempt, reason: Error): void {
  if (reason instanceof LeaseLostError) endAttempt(a, null)
  if (a.abortedWith) return
  a.abortedWith = reason
  a.controller?.abort(reason)
}

/** An AbortController costs microseconds to make: one per attempt only for handlers that look. */
function signalOf(a: Attempt): AbortSignal {
  if (!a.controller) {
    a.controller = new AbortController()
    if (a.abortedWith) a.controller.abort(a.abortedWith)
  }
  return a.controller.signal
}

/** What a value the handler threw means for the attempt. */
export function outcomeOf(a: Attempt, err: unknown, now: number): AttemptOutcome {
  // Cancelled while it ran: the job ends cancelled, whatever the handler threw.
  if (a.cancelled) return { kind: 'cancelled' }
  if (err instanceof JobDeferredError) return { kind: 'deferred', runAt: now + err.delayMs }
  if (err instanceof JobSkippedError) return { kind: 'skipped' }
  return { kind: 'failed', error: serializeError(err), unrecoverable: err instanceof UnrecoverableError }
}

/**
 * Settles one by one, after a settlement's result could not be stored: the others must not be
 * held up by it. One that cannot be stored fails its job instead. The start of a job claimed
 * ahead goes with its job's settlement. Returns what is left to settle and to stamp.
 */
export async function settleEachAlone(
  h: AttemptHost,
  settle: Settlement[],
  started: NonNullable<SettleAndClaimInput['started']>,
  now: number,
): Promise<{ settle: Settlement[]; started: NonNullable<SettleAndClaimInput['started']> }> {
  const retry: Settlement[] = []
  let left = started
  for (const s of settle) {
    const mine = left.filter((st) => st.id === s.id)
    try {
      const out = await h.store.settleAndClaim({ now, ...(mine.length > 0 ? { started: mine } : {}), settle: [s] })
      left = left.filter((st) => st.id !== s.id)
      h.emitCommitted(out.events)
    } catch (err) {
      if (!(err instanceof SerializationError)) {
        retry.push(s)
        continue
      }
      retry.push({ ...s, outcome: { kind: 'failed', error: serializeError(err), unrecoverable: true } })
    }
  }
  return { settle: retry, started: left }
}
