import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import { job, type QueueEvent, type QueueLike } from '../../src/index.js'
import { metrics } from '../../src/otel/index.js'
import { createTestQueue } from '../../src/testing/index.js'

/** A reader the test collects from by hand. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function sdk() {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  const meter = provider.getMeter('test')
  /** The data points of one metric at a collection, with their attributes. */
  const points = async (name: string): Promise<DataPoint<unknown>[]> => {
    const { resourceMetrics, errors } = await reader.collect()
    expect(errors).toEqual([])
    const found = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.descriptor.name === name)
    return found.flatMap((m) => m.dataPoints as DataPoint<unknown>[])
  }
  return { meter, reader, points, provider }
}

/** `[attributes, value]` of each point, sorted, for comparing. */
function table(points: DataPoint<unknown>[], value: (v: unknown) => unknown = (v) => v): [Record<string, unknown>, unknown][] {
  const sorted = (o: object): Record<string, unknown> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)))
  return points.map((p): [Record<string, unknown>, unknown] => [sorted(p.attributes), value(p.value)]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
}

const histogram = (v: unknown): { count: number; sum: number | undefined } => ({ count: (v as Histogram).count, sum: (v as Histogram).sum })

describe('metrics', () => {
  it('counts finished jobs by type, queue and outcome', async () => {
    const { meter, points } = sdk()
    const q = createTestQueue({ queues: ['default', 'mail'] })
    const stop = metrics(q, { meter })
    q.register('ok', async () => undefined)
    q.register('bad', async () => {
      throw new Error('no')
    })
    await q.dispatch(job('ok', {}).onQueue('mail'))
    await q.dispatch(job('ok', {}))
    await q.dispatch(job('bad', {}).retry(1).backoff(10))
    const { id } = await q.dispatch(job('ok', {}).delay(60_000))
    await q.runUntilIdle()
    await q.advance(10)
    await q.cancel(id)
    expect(table(await points('ferry.jobs.finished'))).toEqual([
      [{ 'ferry.job.outcome': 'cancelled', 'ferry.job.type': 'ok' }, 1],
      [{ 'ferry.job.outcome': 'failed', 'ferry.job.queue': 'default', 'ferry.job.type': 'bad' }, 1],
      [{ 'ferry.job.outcome': 'succeeded', 'ferry.job.queue': 'default', 'ferry.job.type': 'ok' }, 1],
      [{ 'ferry.job.outcome': 'succeeded', 'ferry.job.queue': 'mail', 'ferry.job.type': 'ok' }, 1],
    ])
    stop()
    await q.close()
  })

  it('records how long each attempt ran, in seconds, by outcome', async () => {
    const { meter, points } = sdk()
    const q = createTestQueue({ handlerWaitMs: 50 })
    const stop = metrics(q, { meter })
    let calls = 0
    q.register('slow', () => new Promise<void>((resolve, reject) => q.clock.setTimeout(() => (++calls === 1 ? reject(new Error('again')) : resolve()), 2000)))
    await q.dispatch(job('slow', {}).retry(1).backoff(1000))
    await q.runUntilIdle()
    await q.advance(2000) // the first attempt fails after 2 s
    await q.advance(1000) // the retry starts
    await q.advance(2000) // and succeeds after 2 s
    const duration = await points('ferry.job.attempt.duration')
    expect(table(duration, histogram)).toEqual([
      [{ 'ferry.job.outcome': 'retrying', 'ferry.job.queue': 'default', 'ferry.job.type': 'slow' }, { count: 1, sum: 2 }],
      [{ 'ferry.job.outcome': 'succeeded', 'ferry.job.queue': 'default', 'ferry.job.type': 'slow' }, { count: 1, sum: 2 }],
    ])
    stop()
    await q.close()
  })

  it('records how long a ready job waited before it started, in seconds', async () => {
    const { meter, points } = sdk()
    const q = createTestQueue()
    const stop = metrics(q, { meter })
    q.register('t', async () => undefined)
    q.pause()
    await q.dispatch(job('t', {}))
    await q.advance(5000)
    q.resume()
    await q.runUntilIdle()
    expect(table(await points('ferry.job.wait'), histogram)).toEqual([[{ 'ferry.job.queue': 'default', 'ferry.job.type': 't' }, { count: 1, sum: 5 }]])
    stop()
    await q.close()
  })

  it("observes the queue's jobs by state at each collection", async () => {
    const { meter, points } = sdk()
    const q = createTestQueue()
    const stop = metrics(q, { meter })
    q.register('t', async () => undefined)
    await q.dispatch(job('t', {}))
    await q.dispatch(job('t', {}).delay(1000))
    await q.runUntilIdle()
    const gauge = await points('ferry.jobs')
    expect(gauge.every((p) => p.value !== undefined)).toBe(true)
    expect(Object.fromEntries(gauge.map((p) => [p.attributes['ferry.job.state'], p.value]))).toEqual({
      blocked: 0,
      waiting: 0,
      delayed: 1,
      active: 0,
      succeeded: 1,
      failed: 0,
      cancelled: 0,
    })
    stop()
    await q.close()
  })

  it('reports no states, and no error to the SDK, when counts cannot be read', async () => {
    const { meter, points } = sdk()
    const broken: QueueLike = {
      events: { subscribe: () => () => undefined },
      getJob: () => Promise.resolve(undefined),
      findBatch: () => Promise.reject(new Error('gone')),
      findChain: () => Promise.reject(new Error('gone')),
      counts: () => Promise.reject(new Error('the queue is closed')),
    }
    const stop = metrics(broken, { meter })
    expect(await points('ferry.jobs')).toEqual([])
    stop()
  })

  it('stops listening and observing when stopped', async () => {
    const { meter, points } = sdk()
    const listeners = new Set<(e: QueueEvent) => void>()
    let counted = 0
    const q: QueueLike = {
      events: {
        subscribe: (l) => {
          listeners.add(l)
          return () => listeners.delete(l)
        },
      },
      getJob: () => Promise.resolve(undefined),
      findBatch: () => Promise.reject(new Error('none')),
      findChain: () => Promise.reject(new Error('none')),
      counts: () => {
        counted++
        return Promise.resolve({ blocked: 0, waiting: 1, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 })
      },
    }
    const stop = metrics(q, { meter })
    expect(listeners.size).toBe(1)
    for (const l of listeners) l({ kind: 'job:succeeded', at: 1, jobId: 'a', type: 't' })
    expect((await points('ferry.jobs')).length).toBe(7)
    expect(counted).toBe(1)
    stop()
    expect(listeners.size).toBe(0)
    await points('ferry.jobs')
    expect(counted).toBe(1)
    for (const l of listeners) l({ kind: 'job:succeeded', at: 2, jobId: 'b', type: 't' })
    // Counters keep what they counted; nothing new arrives.
    expect(table(await points('ferry.jobs.finished'))).toEqual([[{ 'ferry.job.outcome': 'succeeded', 'ferry.job.type': 't' }, 1]])
  })
})
