/**
 * One attempt of a job on an engine: the context its handler gets, the handler run through the
 * middleware, and the outcome a thrown value means.
 *
 * @module
 */
import { compose } from './middleware.js'
import { JobDeferredError, JobSkippedError, JobTimeoutError, LeaseLostError, SerializationError, UnrecoverableError, serializeError } from './errors.js'
import type { AttemptOutcome, SettleAndClaimInput, Settlement, Store, StoredJob } from './store.js'
import type { Clock, Handler, JobContext, Middleware, QueueEvent } from './types.js'

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
}

/** What an attempt needs of its engine. */
export interface AttemptHost {
  store: Store
  clock: Clock
  middleware: readonly Middleware[]
  handlers: ReadonlyMap<string, Handler<unknown>>
  /** Emits the events of a write the engine made, unless the store's watch emits them. */
  emitCommitted(events: QueueEvent[]): void
}

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
      ended({ kind: 'failed', error: serializeError(err) })
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
  const of = job.callbackOf
  if (of?.group === 'batch') {
    const b = await h.store.getBatch(of.id)
    if (b) ctx.batch = b
  } else if (of?.group === 'chain') {
    const c = await h.store.getChain(of.id)
    if (c) ctx.chain = c
  }
  return compose(h.middleware, ctx, async () => handler(job.payload, ctx), h.clock)
}

/** Aborts the attempt's signal, now or when the handler first reads it. The first reason holds. */
export function abort(a: Attempt, reason: Error): void {
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
  if (err instanceof JobDeferredError) return { kind: 'deferred', runAt: now + err.delayMs }
  if (err instanceof JobSkippedError) return { kind: 'skipped' }
  if (a.cancelled) return { kind: 'cancelled' }
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
