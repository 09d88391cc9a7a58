import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { QueueLike } from '../../src/index.js'
import { metrics } from '../../src/otel/index.js'
import { createTestQueue } from '../../src/testing/index.js'

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

afterEach(() => {
  vi.useRealTimers()
})

describe('metrics: a queue whose counts never answer', () => {
  it('ends the collection after 5 s, observing no ferry.jobs', async () => {
    const reader = new TestReader()
    const meter = new MeterProvider({ readers: [reader] }).getMeter('test')
    const q = createTestQueue()
    const hung = new Proxy(q, {
      get(t, k) {
        if (k === 'counts') return () => new Promise(() => {})
        const v: unknown = Reflect.get(t, k)
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v
      },
    }) as QueueLike
    const stop = metrics(hung, { meter })
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    let done = false
    const collected = reader.collect().finally(() => {
      done = true
    })
    await vi.advanceTimersByTimeAsync(4_999)
    expect(done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    const { resourceMetrics, errors } = await collected
    expect(errors).toEqual([])
    const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).filter((m) => m.dataPoints.length > 0).map((m) => m.descriptor.name)
    expect(names).not.toContain('ferry.jobs')
    stop()
    vi.useRealTimers()
    await q.close()
  })
})
