import { SpanKind, context, trace, type Tracer } from '@opentelemetry/api'
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, StackContextManager } from '@opentelemetry/sdk-trace-web'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createQueue, job, type Instrumentation, type Queue } from '../../src/index.js'
import { metrics, tracing } from '../../src/otel/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import { RelayProcessor, SPAN_CHANNEL, type SpanRecord } from './fixtures/otel-span-relay.js'

// Workers start in seconds on a busy machine.

const OTEL_WORKER_DB = 'ferry-otel-worker'

beforeAll(() => {
  context.setGlobalContextManager(new StackContextManager().enable())
})

function deleteDb(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name)
    req.onsuccess = () => resolve()
    req.onerror = () => reject(req.error ?? new Error(`cannot delete ${name}`))
  })
}

/** A tracer of a fresh SDK provider, and the spans it has finished. */
function pageTracing(): { tracer: Tracer; spans: SpanRecord[] } {
  const spans: SpanRecord[] = []
  const provider = new BasicTracerProvider({ spanProcessors: [new RelayProcessor((r) => spans.push(r))] })
  return { tracer: provider.getTracer('page'), spans }
}

/** Dispatches inside an active `click` span, as an app's event handler would. */
function inClick<T>(tracer: Tracer, dispatch: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan('click', (span) => dispatch().finally(() => span.end()))
}

/** Resolves with the first span record that `match` accepts, from `spans` or from those to come. */
function spanWhere(source: { spans?: SpanRecord[]; channel?: BroadcastChannel }, match: (s: SpanRecord) => boolean): Promise<SpanRecord> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching span within 20 s')), 20_000)
    const seen = source.spans?.find(match)
    if (seen) {
      clearTimeout(timer)
      return resolve(seen)
    }
    source.channel?.addEventListener('message', (e: MessageEvent<SpanRecord>) => {
      if (!match(e.data)) return
      clearTimeout(timer)
      resolve(e.data)
    })
  })
}

describe('ferry/otel in Chromium: a job dispatched on the page and run in a worker', { timeout: 40_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient | undefined
  let channel: BroadcastChannel | undefined
  afterEach(async () => {
    await client?.close()
    worker?.terminate()
    channel?.close()
    await deleteDb(OTEL_WORKER_DB)
  })

  const open = async (o: { instrumentation?: Instrumentation[] }) => {
    await deleteDb(OTEL_WORKER_DB)
    channel = new BroadcastChannel(SPAN_CHANNEL)
    worker = new Worker(new URL('./fixtures/otel-queue.worker.ts', import.meta.url), { type: 'module' })
    client = connectQueue(worker, o)
    return { client, channel }
  }

  it("runs the attempt as a child of the page's ferry.dispatch span, and the handler's span under the attempt's", async () => {
    const page = pageTracing()
    const { client, channel } = await open({ instrumentation: [tracing({ tracer: page.tracer })] })
    const attemptSpan = spanWhere({ channel }, (s) => s.name === 'ferry.job work')
    const handlerSpan = spanWhere({ channel }, (s) => s.name === 'handler work')
    const { id } = await inClick(page.tracer, () => client.dispatch(job('work', {})))
    const attempt = await attemptSpan
    const click = page.spans.find((s) => s.name === 'click')
    const dispatch = page.spans.find((s) => s.name === 'ferry.dispatch')
    expect(dispatch).toMatchObject({ kind: SpanKind.PRODUCER, parentSpanId: click?.spanId, traceId: click?.traceId })
    expect(attempt).toMatchObject({ kind: SpanKind.CONSUMER, traceId: click?.traceId, parentSpanId: dispatch?.spanId, links: [] })
    expect(attempt.attributes).toMatchObject({ 'ferry.job.id': id, 'ferry.job.type': 'work', 'ferry.job.outcome': 'succeeded' })
    expect(await handlerSpan).toMatchObject({ traceId: click?.traceId, parentSpanId: attempt.spanId })
    expect((await client.getJob(id))?.meta).toEqual({ traceparent: `00-${click?.traceId}-${dispatch?.spanId}-01` })
  })

  it("reports the worker's jobs as metrics through the page's client", async () => {
    const { client, channel } = await open({})
    class Reader extends MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    }
    const reader = new Reader()
    const meter = new MeterProvider({ readers: [reader] }).getMeter('page')
    const stop = metrics(client, { meter })
    await client.dispatch(job('work', {}).withId('m1'))
    await spanWhere({ channel }, (s) => s.name === 'ferry.job work' && s.attributes['ferry.job.id'] === 'm1')
    // The event that reports the success comes over the client's own channel.
    let finished: unknown[] = []
    for (let i = 0; i < 100 && finished.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      const { resourceMetrics } = await reader.collect()
      finished = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === 'ferry.jobs.finished').flatMap((m): unknown[] => m.dataPoints)
    }
    expect(finished).toMatchObject([{ attributes: { 'ferry.job.type': 'work', 'ferry.job.outcome': 'succeeded', 'ferry.job.queue': 'default' }, value: 1 }])
    const { resourceMetrics } = await reader.collect()
    const gauge = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === 'ferry.jobs')
    expect(gauge?.dataPoints.find((p) => p.attributes['ferry.job.state'] === 'succeeded')?.value).toBe(1)
    stop()
  })
})

describe('ferry/otel in Chromium: across a reload', { timeout: 30_000 }, () => {
  const name = 'ferry-otel-reload'
  const queues: Queue[] = []
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close()
    await deleteDb(name)
  })

  it('runs a job dispatched before the reload as a child of its dispatch span, on a fresh provider', async () => {
    await deleteDb(name)
    const before = pageTracing()
    const first = createQueue({ store: idbStore({ name }), instrumentation: [tracing({ tracer: before.tracer })] })
    queues.push(first)
    // The engine is not started: the job waits in IndexedDB.
    const { id } = await inClick(before.tracer, () => first.dispatch(job('work', {})))
    await first.close()
    const dispatch = before.spans.find((s) => s.name === 'ferry.dispatch')

    const after = pageTracing()
    const second = createQueue({ store: idbStore({ name }), instrumentation: [tracing({ tracer: after.tracer })] })
    queues.push(second)
    second.register('work', () => undefined)
    const attemptSpan = new Promise<void>((resolve) => second.events.subscribe((e) => e.kind === 'job:succeeded' && resolve()))
    await second.start()
    await attemptSpan
    const attempt = await spanWhere({ spans: after.spans }, (s) => s.name === 'ferry.job work')
    expect(attempt).toMatchObject({ traceId: dispatch?.traceId, parentSpanId: dispatch?.spanId })
    expect(attempt.attributes['ferry.job.id']).toBe(id)
    expect(trace.getActiveSpan()).toBeUndefined()
  })
})
