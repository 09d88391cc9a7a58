import { afterEach, describe, expect, it } from 'vitest'
import { JobDeferredError, job, rateLimit, type JobContext, type QueueEvent } from '../../src/index.js'
import { createTestQueue, type TestQueue } from '../../src/testing/index.js'

// What the README promises about retries, rate limits, deferral and cron schedules, checked end
// to end on the real engine with a manual clock.

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0)

let queue: TestQueue | undefined
afterEach(async () => {
  await queue?.close()
  queue = undefined
})

function open(o: Parameters<typeof createTestQueue>[0] = {}): { q: TestQueue; events: QueueEvent[] } {
  const q = createTestQueue({ startAt: T0, ...o })
  queue = q
  const events: QueueEvent[] = []
  q.events.subscribe((e) => events.push(e))
  return { q, events }
}

const of = <K extends QueueEvent['kind']>(events: QueueEvent[], kind: K, jobId?: string) =>
  events.filter((e): e is Extract<QueueEvent, { kind: K }> => e.kind === kind && (jobId === undefined || ('jobId' in e && e.jobId === jobId)))

describe('the default retries and backoff', () => {
  it('retries a failing job 3 times, exponentially from 1 s with jitter between half and all of each delay', async () => {
    const { q, events } = open()
    q.register('flaky', () => {
      throw new Error('down')
    })
    const ids = (await q.dispatchMany(Array.from({ length: 20 }, () => job('flaky', null)))).map((r) => r.id)
    await q.advance(60_000)
    const firstDelays: number[] = []
    for (const id of ids) {
      const starts = of(events, 'job:started', id)
      expect(starts.map((e) => e.attempt)).toEqual([1, 2, 3, 4])
      expect(of(events, 'job:retrying', id).map((e) => e.attempt)).toEqual([1, 2, 3])
      expect(of(events, 'job:failed', id)).toHaveLength(1)
      expect(await q.getJob(id)).toMatchObject({ state: 'failed', attempt: 4, maxAttempts: 4, error: { message: 'down' } })
      for (let i = 1; i < starts.length; i++) {
        const delay = (starts[i]?.at ?? 0) - (starts[i - 1]?.at ?? 0)
        const full = 1000 * 2 ** (i - 1)
        expect(delay).toBeGreaterThanOrEqual(full / 2)
        expect(delay).toBeLessThanOrEqual(full)
        if (i === 1) firstDelays.push(delay)
      }
    }
    // Jitter: jobs that failed together do not all retry together.
    expect(new Set(firstDelays).size).toBeGreaterThan(1)
  })

  it('caps each delay at 5 minutes', async () => {
    const { q, events } = open({ defaults: { retry: 11 } })
    q.register('flaky', () => {
      throw new Error('down')
    })
    const { id } = await q.dispatch(job('flaky', null))
    await q.advance(60 * 60_000)
    const starts = of(events, 'job:started', id).map((e) => e.at)
    expect(starts).toHaveLength(12)
    const delays = starts.slice(1).map((at, i) => at - (starts[i] ?? 0))
    // 2^9 s is past the cap: from the tenth attempt on, each delay is jitter on 5 minutes.
    for (const d of delays.slice(9)) {
      expect(d).toBeGreaterThanOrEqual(150_000)
      expect(d).toBeLessThanOrEqual(300_000)
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(300_000)
  })
})

describe('rateLimit({ key })', () => {
  it('keeps a separate limit for each key, on the queue’s own clock', async () => {
    const { q, events } = open({
      middleware: [rateLimit({ limit: 1, intervalMs: 1000, key: (ctx: JobContext) => ctx.id.split(':')[0] ?? '' })],
    })
    const ran: [string, number][] = []
    q.register('sync', (_p, ctx) => void ran.push([ctx.id, q.clock.now() - T0]))
    await q.dispatchMany([
      job('sync', null).withId('alice:1'),
      job('sync', null).withId('alice:2'),
      job('sync', null).withId('bob:1'),
      job('sync', null).withId('bob:2'),
      job('sync', null).withId('carol:1'),
    ])
    await q.runUntilIdle()
    // One per key at once: the second job of alice and of bob waits for its key's window.
    expect(ran.map(([id]) => id).sort()).toEqual(['alice:1', 'bob:1', 'carol:1'])
    expect(of(events, 'job:deferred').map((e) => [e.jobId, e.runAt - T0]).sort()).toEqual([
      ['alice:2', 1000],
      ['bob:2', 1000],
    ])
    await q.advance(999)
    expect(ran).toHaveLength(3)
    await q.advance(1)
    expect(ran.slice(3).sort()).toEqual([
      ['alice:2', 1000],
      ['bob:2', 1000],
    ])
    // Deferral spent no attempt.
    expect(await q.getJob('alice:2')).toMatchObject({ state: 'succeeded', attempt: 1 })
  })
})

describe('JobDeferredError(ms) thrown by a handler', () => {
  it('runs the job again after ms, without spending an attempt, and emits job:deferred', async () => {
    const { q, events } = open({ defaults: { retry: 0 } })
    const attempts: [number, number][] = []
    q.register('poll', (_p, ctx) => {
      attempts.push([ctx.attempt, q.clock.now() - T0])
      if (attempts.length < 3) throw new JobDeferredError(5000)
      return 'ready'
    })
    const { id } = await q.dispatch(job('poll', null))
    await q.runUntilIdle()
    expect(of(events, 'job:deferred', id).map((e) => e.runAt - T0)).toEqual([5000])
    expect(await q.getJob(id)).toMatchObject({ state: 'delayed', attempt: 0, runAt: T0 + 5000 })
    await q.advance(4999)
    expect(attempts).toHaveLength(1)
    await q.advance(1)
    expect(attempts).toHaveLength(2)
    await q.advance(5000)
    // With no retries allowed, a deferral still never fails the job: each run is attempt 1.
    expect(attempts).toEqual([
      [1, 0],
      [1, 5000],
      [1, 10_000],
    ])
    expect(of(events, 'job:deferred', id).map((e) => e.runAt - T0)).toEqual([5000, 10_000])
    expect(of(events, 'job:retrying', id)).toEqual([])
    expect(of(events, 'job:failed', id)).toEqual([])
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1, maxAttempts: 1, result: 'ready' })
  })
})

describe('six-field cron in queue.schedule', () => {
  it('fires every 10 seconds for "*/10 * * * * *"', async () => {
    const { q } = open()
    const ran: number[] = []
    q.register('tick', () => void ran.push(q.clock.now() - T0))
    await q.schedule('tick', '*/10 * * * * *', job('tick', null), { timezone: 'UTC' })
    await q.advance(60_000)
    expect(ran).toEqual([10_000, 20_000, 30_000, 40_000, 50_000, 60_000])
  })

  it('fires at the second it names, once a day, for "30 15 10 * * *"', async () => {
    const { q } = open()
    const ran: string[] = []
    q.register('report', () => void ran.push(new Date(q.clock.now()).toISOString()))
    await q.schedule('report', '30 15 10 * * *', job('report', null), { timezone: 'UTC' })
    await q.advance(2 * 86_400_000)
    expect(ran).toEqual(['2026-01-01T10:15:30.000Z', '2026-01-02T10:15:30.000Z'])
  })
})
