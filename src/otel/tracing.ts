/**
 * `tracing()`: OpenTelemetry spans for dispatches and attempts, as a queue's instrumentation.
 *
 * A dispatch call gets a `ferry.dispatch` span (PRODUCER), active while it runs, so each job it
 * writes stores that span's W3C `traceparent` (and `tracestate`) in its metadata. That stored
 * context travels with the record: through storage, a reload, a worker boundary, a process
 * restart. Each attempt gets a `ferry.job <type>` span (CONSUMER) whose parent is the stored
 * context when the attempt starts soon after the dispatch, and which starts a trace of its own
 * with a link to it when the job runs later (see `TracingOptions.linkAfterMs`).
 *
 * @module
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, isSpanContextValid, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api'
import { InvalidArgumentError, JobCancelledError, JobDeferredError, JobSkippedError, LeaseLostError, QueueClosedError, UnrecoverableError } from '../core/errors.js'
import type { DispatchCall, Instrumentation } from '../core/instrumentation.js'
import type { JobContext, Middleware } from '../core/types.js'
import { formatTraceparent, parseTraceparent } from './traceparent.js'

export interface TracingOptions {
  /** @default trace.getTracer('ferry'), looked up at each span, so a provider registered later is used */
  tracer?: Tracer
  /**
   * An attempt that starts at most this long after its job was dispatched is a child of the
   * dispatching span; a later one starts a new trace linked to it. Trace backends assemble and
   * tail-sample a trace within minutes: a job run hours later as a child would stretch its
   * dispatching trace over hours and miss those windows. `Infinity` always makes it a child.
   * @default 60_000
   */
  linkAfterMs?: number
  /**
   * The time the attempt's start is measured on, against the job's `createdAt`. Give a manual
   * clock's here when the queue runs on one. @default Date.now
   */
  clock?: { now(): number }
}

/**
 * How an attempt ended, as its span's `ferry.job.outcome`: `retrying` and `failed` are a thrown
 * error with attempts left or not; `deferred` also covers a stop that put the job back; `lost`
 * is an attempt whose lease the engine lost (its job is taken for stalled and runs again).
 */
export type AttemptSpanOutcome = 'succeeded' | 'retrying' | 'failed' | 'deferred' | 'skipped' | 'cancelled' | 'lost'

const SYSTEM = 'ferry'

/**
 * Spans for a queue's dispatches and attempts.
 * @example
 * import { tracing } from 'ferry/otel'
 * const queue = createQueue({ store, instrumentation: [tracing()] })
 */
export function tracing(o: TracingOptions = {}): Instrumentation {
  const linkAfterMs = o.linkAfterMs ?? 60_000
  if (typeof linkAfterMs !== 'number' || Number.isNaN(linkAfterMs) || linkAfterMs < 0) {
    throw new InvalidArgumentError(`linkAfterMs must be a number >= 0, got ${String(linkAfterMs)}`)
  }
  if (o.clock !== undefined && typeof o.clock?.now !== 'function') throw new InvalidArgumentError('clock must have a now() method')
  const tracer = (): Tracer => o.tracer ?? trace.getTracer('ferry')
  const now = (): number => (o.clock ? o.clock.now() : Date.now())

  const aroundDispatch = <T>(call: DispatchCall, run: () => Promise<T>): Promise<T> => {
    const span = tracer().startSpan('ferry.dispatch', { kind: SpanKind.PRODUCER, attributes: dispatchAttributes(call) })
    let settled: Promise<T>
    try {
      settled = context.with(trace.setSpan(context.active(), span), run)
    } catch (err) {
      fail(span, err)
      span.end()
      throw err
    }
    return settled.then(
      (v) => {
        span.end()
        return v
      },
      (err: unknown) => {
        fail(span, err)
        span.end()
        throw err
      },
    )
  }

  const onDispatch = (): Record<string, string> | void => {
    const sc = trace.getSpanContext(context.active())
    if (!sc || !isSpanContextValid(sc)) return
    const state = sc.traceState?.serialize()
    return state ? { traceparent: formatTraceparent(sc), tracestate: state } : { traceparent: formatTraceparent(sc) }
  }

  const middleware: Middleware = async (ctx, next) => {
    // Built on the root context, not the active one: the engine may be running inside some
    // unrelated caller's context (the dispatch that woke it), which is no parent of this job.
    const stored = parseTraceparent(ctx.meta?.['traceparent'], ctx.meta?.['tracestate'])
    const child = stored !== undefined && now() - ctx.createdAt <= linkAfterMs
    const parent = child ? trace.setSpanContext(ROOT_CONTEXT, stored) : ROOT_CONTEXT
    const span = tracer().startSpan(
      `ferry.job ${ctx.type}`,
      {
        kind: SpanKind.CONSUMER,
        root: !child,
        attributes: attemptAttributes(ctx),
        ...(stored !== undefined && !child ? { links: [{ context: stored }] } : {}),
      },
      parent,
    )
    // The attempt ends when the engine says so: at an abort (timeout, cancel, lost lease, a stop
    // past its timeout) the engine settles the job without waiting for the handler, which may
    // never return. The span ends then, with what the abort means.
    let open = true
    // `threw` apart from `err`: a handler may throw undefined.
    const finish = (threw: boolean, err?: unknown): void => {
      if (!open) return
      open = false
      if (threw) ended(span, ctx, err)
      else span.setAttribute('ferry.job.outcome', 'succeeded')
      span.end()
    }
    const signal = ctx.signal
    const onAbort = (): void => finish(true, signal.reason)
    signal.addEventListener('abort', onAbort)
    try {
      const result = await context.with(trace.setSpan(parent, span), next)
      finish(signal.aborted, signal.reason)
      return result
    } catch (err) {
      finish(true, err)
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  return { aroundDispatch, onDispatch, middleware }
}

function dispatchAttributes(call: DispatchCall): Attributes {
  const a: Attributes = {
    'messaging.system': SYSTEM,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'dispatch',
    'ferry.dispatch.kind': call.kind,
    'ferry.dispatch.count': call.count,
    'ferry.dispatch.queues': call.queues,
  }
  if (call.queues.length === 1) a['messaging.destination.name'] = call.queues[0]
  if (call.count > 1) a['messaging.batch.message_count'] = call.count
  if (call.id !== undefined) a[call.kind === 'batch' ? 'ferry.batch.id' : 'ferry.chain.id'] = call.id
  return a
}

function attemptAttributes(ctx: JobContext): Attributes {
  const a: Attributes = {
    'messaging.system': SYSTEM,
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.destination.name': ctx.queue,
    'messaging.message.id': ctx.id,
    'ferry.job.id': ctx.id,
    'ferry.job.type': ctx.type,
    'ferry.job.queue': ctx.queue,
    'ferry.job.attempt': ctx.attempt,
    'ferry.job.max_attempts': ctx.maxAttempts,
  }
  // A callback job is no member of its group: it names it through the group's state.
  const chainId = ctx.chainId ?? ctx.chain?.id
  const batchId = ctx.batchId ?? ctx.batch?.id
  if (chainId !== undefined) a['ferry.chain.id'] = chainId
  if (batchId !== undefined) a['ferry.batch.id'] = batchId
  return a
}

/** Why the engine aborted the attempt, if it did. */
function abortReason(ctx: JobContext): unknown {
  const signal = ctx.signal
  return signal.aborted ? (signal.reason as unknown) : undefined
}

/** Sets the outcome of an attempt that threw (or was aborted) and records what is an error. */
function ended(span: Span, ctx: JobContext, err: unknown): void {
  const outcome = outcomeOf(ctx, err)
  span.setAttribute('ferry.job.outcome', outcome)
  if (outcome === 'retrying' || outcome === 'failed' || outcome === 'lost') fail(span, err)
}

function outcomeOf(ctx: JobContext, err: unknown): AttemptSpanOutcome {
  if (err instanceof JobDeferredError) return 'deferred'
  if (err instanceof JobSkippedError) return 'skipped'
  // An abort outranks what the handler made of it: the engine settles by the abort.
  const reason = abortReason(ctx)
  if (reason instanceof QueueClosedError) return 'deferred' // a stop past its timeout puts the job back
  if (err instanceof JobCancelledError || reason instanceof JobCancelledError) return 'cancelled'
  if (err instanceof LeaseLostError || reason instanceof LeaseLostError) return 'lost'
  return err instanceof UnrecoverableError || ctx.attempt >= ctx.maxAttempts ? 'failed' : 'retrying'
}

function fail(span: Span, err: unknown): void {
  if (err instanceof Error) span.recordException(err)
  else span.recordException(String(err))
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
}
