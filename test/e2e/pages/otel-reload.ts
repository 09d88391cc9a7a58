/**
 * A page with traced queues on an IndexedDB store, driven by test/e2e/otel-reload.test.ts through
 * `window.otelReload`. Each load registers a fresh OpenTelemetry provider whose spans go to an
 * in-memory exporter, so what one load exported is gone after a reload: only the trace context
 * stored with a job crosses it. Jobs go to the queues `soon` and `late`; an engine runs one queue
 * only when the test says, so a job can be dispatched in one load and run in the next.
 */
import { trace } from '@opentelemetry/api'
import { InMemorySpanExporter, SimpleSpanProcessor, StackContextManager, WebTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-web'
import { createQueue, job, type JobRecord, type Queue, type QueueOptions } from '../../../src/index.js'
import { tracing } from '../../../src/otel/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const db = new URLSearchParams(location.search).get('db') ?? 'ferry-e2e-otel'
const exporter = new InMemorySpanExporter()
const provider = new WebTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
// Global, as an app does: tracing() without a tracer uses the global provider's.
provider.register({ contextManager: new StackContextManager() })
const loadedAt = performance.timeOrigin

/** A finished span as plain data, for page.evaluate to hand over. */
interface SpanRecord {
  name: string
  traceId: string
  spanId: string
  parentSpanId?: string
  attributes: Record<string, unknown>
  links: { traceId: string; spanId: string }[]
}

function toRecord(s: ReadableSpan): SpanRecord {
  const r: SpanRecord = {
    name: s.name,
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    attributes: { ...s.attributes },
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  }
  if (s.parentSpanContext) r.parentSpanId = s.parentSpanContext.spanId
  return r
}

function open(o: Pick<QueueOptions, 'queues' | 'instrumentation'>): Queue {
  return createQueue({ store: idbStore({ name: db }), ...o })
}

const api = {
  loadedAt,
  /** Dispatches a `work` job on each queue inside an active `click` span; runs nothing. */
  async dispatchInClick(): Promise<{ soon: string; late: string }> {
    const queue = open({ instrumentation: [tracing()] })
    try {
      const tracer = trace.getTracer('app')
      // Both dispatches start inside the callback: the stack context manager keeps the click
      // active only while it runs synchronously.
      const [soon, late] = await tracer.startActiveSpan('click', (span) =>
        Promise.all([queue.dispatch(job('work', {}).onQueue('soon')), queue.dispatch(job('work', {}).onQueue('late'))]).finally(() => span.end()),
      )
      return { soon: soon.id, late: late.id }
    } finally {
      await queue.close()
    }
  },
  /**
   * Starts an engine on `queueName` alone, traced with `linkAfterMs` (tracing's default when
   * undefined), and resolves with job `id` once it succeeded. The handler makes a span of its own.
   */
  async runUntilDone(queueName: string, id: string, linkAfterMs?: number): Promise<JobRecord | undefined> {
    const queue = open({ queues: [queueName], instrumentation: [tracing(linkAfterMs === undefined ? {} : { linkAfterMs })] })
    try {
      const done = new Promise<void>((resolve) => {
        const off = queue.events.subscribe((e) => {
          if (e.kind === 'job:succeeded' && e.jobId === id) {
            off()
            resolve()
          }
        })
      })
      queue.register('work', (_payload, ctx) => {
        trace.getTracer('app').startSpan(`handler ${ctx.id}`).end()
      })
      await queue.start()
      await done
      return await queue.getJob(id)
    } finally {
      await queue.close()
    }
  },
  getJob(id: string): Promise<JobRecord | undefined> {
    const queue = open({})
    return queue.getJob(id).finally(() => queue.close())
  },
  /** The spans this page load finished, oldest first. */
  async spans(): Promise<SpanRecord[]> {
    await provider.forceFlush()
    return exporter.getFinishedSpans().map(toRecord)
  },
}

declare global {
  interface Window {
    otelReload: typeof api
    e2eReady: boolean
  }
}

window.otelReload = api
window.e2eReady = true
