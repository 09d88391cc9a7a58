import { describe, expect, it } from 'vitest'
import { failOnError, job, rateLimit, skipWhen, withoutOverlapping, type Middleware } from '../../src/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { advance, deferred, harness, settle } from '../helpers.js'

describe('middleware', () => {
  it('wraps each attempt, the first in the list outermost', async () => {
    const trail: string[] = []
    const mark =
      (name: string): Middleware =>
      async (_ctx, next) => {
        trail.push(`${name}>`)
        const r = await next()
        trail.push(`<${name}`)
        return r
      }
    const { queue } = harness({ middleware: [mark('a'), mark('b')] })
    queue.register('t', () => void trail.push('handler'))
    await queue.start()
    await queue.dispatch(job('t', {}))
    await settle()
    expect(trail).toEqual(['a>', 'b>', 'handler', '<b', '<a'])
  })

  it('rateLimit puts jobs over the limit back without spending an attempt', async () => {
    const clock = new ManualClock(1_000_000)
    const { queue, kinds } = harness({ clock, concurrency: 5, middleware: [rateLimit({ limit: 2, intervalMs: 1000, clock })] })
    const started: number[] = []
    queue.register('t', () => void started.push(clock.now()))
    await queue.dispatchMany(Array.from({ length: 5 }, (_, i) => job('t', i)))
    await queue.start()
    await settle()
    expect(started).toHaveLength(2)
    expect(kinds().filter((k) => k === 'job:deferred')).toHaveLength(3)
    const waiting = await queue.listJobs({ state: 'delayed' })
    expect(waiting.map((j) => j.attempt)).toEqual([0, 0, 0])
    await advance(clock, 1000, 100)
    expect(started).toHaveLength(4)
    await advance(clock, 1000, 100)
    expect(started).toHaveLength(5)
    expect((await queue.counts()).succeeded).toBe(5)
  })

  it('skipWhen finishes a job without running it', async () => {
    const { queue, kinds } = harness({ middleware: [skipWhen((ctx) => ctx.type === 'stale')] })
    const ran: string[] = []
    queue.register('stale', () => void ran.push('stale'))
    queue.register('fresh', () => void ran.push('fresh'))
    await queue.start()
    const s = await queue.dispatch(job('stale', {}))
    await queue.dispatch(job('fresh', {}))
    await settle()
    expect(ran).toEqual(['fresh'])
    expect(await queue.getJob(s.id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(kinds()).toContain('job:skipped')
  })

  it('failOnError fails matching errors at once and lets others retry', async () => {
    class HttpError extends Error {
      constructor(readonly status: number) {
        super(`HTTP ${status}`)
      }
    }
    const { queue, clock } = harness({ middleware: [failOnError((e) => e instanceof HttpError && e.status < 500)] })
    queue.register('t', (p) => {
      throw new HttpError((p as { status: number }).status)
    })
    await queue.start()
    const client = await queue.dispatch(job('t', { status: 404 }).retry(3).backoff(10))
    const server = await queue.dispatch(job('t', { status: 503 }).retry(3).backoff(10))
    await settle()
    expect(await queue.getJob(client.id)).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError', message: 'HTTP 404' } })
    await advance(clock, 100, 10)
    expect(await queue.getJob(server.id)).toMatchObject({ state: 'failed', attempt: 4 })
  })

  it('withoutOverlapping keeps jobs with the same key apart', async () => {
    const clock = new ManualClock(1_000_000)
    const { queue, kinds } = harness({
      clock,
      concurrency: 3,
      middleware: [withoutOverlapping({ key: (ctx) => ctx.type, retryAfterMs: 500, clock })],
    })
    const gate = deferred()
    let running = 0
    let peak = 0
    queue.register('sync', async () => {
      peak = Math.max(peak, ++running)
      await gate.promise
      running--
    })
    await queue.dispatchMany([job('sync', 1), job('sync', 2), job('sync', 3)])
    await queue.start()
    await settle()
    expect(running).toBe(1)
    expect(kinds().filter((k) => k === 'job:deferred')).toHaveLength(2)
    gate.resolve(undefined)
    await advance(clock, 1000, 100)
    expect(peak).toBe(1)
    expect((await queue.counts()).succeeded).toBe(3)
  })
})
