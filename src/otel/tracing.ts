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
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, diag, isSpanContextValid, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { InvalidArgumentError } from '../core/errors.js'
import type { AttemptEnd, AttemptEndOutcome, DispatchCall, DispatchedJob, Instrumentation } from '../core/instrumentation.js'
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
 * How an attempt ended, as its span's `ferry.job.outcome`: the outcome the engine decided (see
 * `AttemptEndOutcome`). `retrying`, `failed` and `lost` are errors on the span.
 */
export type AttemptSpanOutcome = AttemptEndOutcome

const SYSTEM = 'ferry'

/**
 * Runs a call into the OpenTelemetry SDK: what it throws, or what a promise it returns rejects
 * with (a wrapper's span methods may be async), is logged through `diag` and never reaches the
 * queue, its jobs or their handlers. Returns undefined when it threw.
 */
function guarded<T>(what: string, call: () => T): T | undefined {
  try {
    const out = call()
    caught(what, out)
    return out
  } catch (err) {
    logFailure(what, err)
    return undefined
  }
}

function logFailure(what: string, err: unknown): void {
  try {
    diag.error(`ferry tracing: ${what} failed`, err)
  } catch {
    // A logger that throws is one more thing tracing must not break a job with.
  }
}

/** Logs what `value` rejects with, when it is a thenable (of any realm). */
function caught(what: string, value: unknown): void {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return
  try {
    const then: unknown = (value as { then?: unknown }).then
    if (typeof then !== 'function') return
    ;(then as (ok: (v: unknown) => void, fail: (err: unknown) => void) => unknown).call(value, () => {}, (err) => logFailure(what, err))
  } catch (err) {
    logFailure(what, err)
  }
}

/**
 * Spans for a queue's dispatches and attempts. Telemetry never changes what a job does: a
 * tracer, span or span processor that throws loses its span (logged through `diag`), and the
 * dispatch or attempt goes on as without tracing.
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
  // Each running attempt's span, ended by `attemptEnded` when the engine ends the attempt.
  const spans = new WeakMap<JobContext, Span>()

  const aroundDispatch = <T>(call: DispatchCall, run: () => Promise<T>): Promise<T> => {
    const span = guarded('starting a dispatch span', () =>
      tracer().startSpan('ferry.dispatch', { kind: SpanKind.PRODUCER, attributes: dispatchAttributes(call) }),
    )
    if (!span) return run()
    const settled = within(
      () => trace.setSpan(context.active(), span),
      run,
      () => end(span, 'a dispatch span'),
    )
    return settled.then(
      (v) => {
        end(span, 'a dispatch span')
        return v
      },
      (err: unknown) => {
        guarded('recording a dispatch error', () => recordError(span, errorOf(err)))
        end(span, 'a dispatch span')
        throw err
      },
    )
  }

  const onDispatch = (job: DispatchedJob): Record<string, string> | void => {
    // A traceparent the spec set is another trace's: no tracestate of the active one goes with it.
    if (job.meta?.['traceparent'] !== undefined) return
    return guarded('reading the active span', (): Record<string, string> | undefined => {
      const sc = trace.getSpanContext(context.active())
      if (!sc || !isSpanContextValid(sc)) return undefined
      const state = sc.traceState?.serialize()
      return state ? { traceparent: formatTraceparent(sc), tracestate: state } : { traceparent: formatTraceparent(sc) }
    })
  }

  const middleware: Middleware = (ctx, next) => {
    // Built on the root context, not the active one: the engine may be running inside some
    // unrelated caller's context (the dispatch that woke it), which is no parent of this job.
    const stored = parseTraceparent(ctx.meta?.['traceparent'], ctx.meta?.['tracestate'])
    const child = stored !== undefined && now() - ctx.createdAt <= linkAfterMs
    const parent = child ? trace.setSpanContext(ROOT_CONTEXT, stored) : ROOT_CONTEXT
    const span = guarded('starting an attempt span', () =>
      tracer().startSpan(
        `ferry.job ${ctx.type}`,
        {
          kind: SpanKind.CONSUMER,
          root: !child,
          attributes: attemptAttributes(ctx),
          ...(stored !== undefined && !child ? { links: [{ context: stored }] } : {}),
        },
        parent,
      ),
    )
    if (!span) return next()
    // The span ends when the engine ends the attempt (`attemptEnded`), with the outcome it decided.
    spans.set(ctx, span)
    return within(() => trace.setSpan(parent, span), next)
  }

  const attemptEnded = (ctx: JobContext, ended: AttemptEnd): void => {
    const span = spans.get(ctx)
    if (!span) return
    spans.delete(ctx)
    guarded('setting an attempt outcome', () => span.setAttribute('ferry.job.outcome', ended.outcome))
    if (ended.outcome === 'retrying' || ended.outcome === 'failed' || ended.outcome === 'lost') {
      guarded('recording an attempt error', () => recordError(span, ended.error ?? { name: 'Error', message: ended.outcome }))
    }
    end(span, 'an attempt span')
  }

  return { aroundDispatch, onDispatch, middleware, attemptEnded }
}

/**
 * Calls `run` with the context `made` makes active. If the context cannot be made or entered,
 * `run` is called without it (and `lost` told): the work goes on untraced. What `run` itself
 * throws is passed on.
 */
function within<T>(made: () => Context, run: () => Promise<T>, lost?: () => void): Promise<T> {
  let called = false
  const once = (): Promise<T> => {
    called = true
    return run()
  }
  let c: Context
  try {
    c = made()
  } catch (err) {
    guarded('making a span active', () => {
      throw err
    })
    lost?.()
    return run()
  }
  try {
    return context.with(c, once)
  } catch (err) {
    if (called) throw err
    guarded('making a span active', () => {
      throw err
    })
    lost?.()
    return run()
  }
}

function end(span: Span, what: string): void {
  guarded(`ending ${what}`, () => span.end())
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

interface ErrorForm {
  name: string
  message: string
  code?: string
  stack?: string
}

/** What a dispatch rejected with, in the form an attempt's error is stored. */
function errorOf(err: unknown): ErrorForm {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) }
  const code: unknown = (err as { code?: unknown }).code
  return {
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(err.stack === undefined ? {} : { stack: err.stack }),
  }
}

/** Records the error (its type: its code, else its name) and marks the span ERROR. */
function recordError(span: Span, err: ErrorForm): void {
  const recorded: unknown = span.recordException({
    name: err.name,
    message: err.message,
    ...(err.code === undefined ? {} : { code: err.code }),
    ...(err.stack === undefined ? {} : { stack: err.stack }),
  })
  caught('recording an exception', recorded)
  caught('setting a span status', span.setStatus({ code: SpanStatusCode.ERROR, message: err.message }))
}
