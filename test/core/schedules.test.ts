import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, job } from '../../src/index.js'
import { createTestQueue } from '../../src/testing/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { advance, harness, settle } from '../helpers.js'

const MIN = 60_000
const HOUR = 60 * MIN

describe('schedules', () => {
  it('enqueues an interval schedule at every occurrence', async () => {
    const { queue, clock } = harness()
    const runs: number[] = []
    queue.register('sync', () => void runs.push(clock.now()))
    await queue.start()
    const t0 = clock.now()
    await queue.schedule('sync', { every: 5 * MIN }, job('sync', {}))
    await settle()
    expect(runs).toEqual([])
    await advance(clock, 15 * MIN, MIN)
    expect(runs).toEqual([t0 + 5 * MIN, t0 + 10 * MIN, t0 + 15 * MIN])
  })

  it('accepts "@every" strings', async () => {
    const { queue, clock } = harness()
    const runs: number[] = []
    queue.register('sync', () => void runs.push(clock.now()))
    await queue.start()
    const t0 = clock.now()
    await queue.schedule('sync', '@every 1m30s', job('sync', {}))
    await advance(clock, 3 * MIN, 10_000)
    expect(runs).toEqual([t0 + 90_000, t0 + 180_000])
  })

  it('enqueues a cron schedule at its times, in the given time zone', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0))
    const { queue } = harness({ clock })
    const runs: string[] = []
    queue.register('cleanup', () => void runs.push(new Date(clock.now()).toISOString()))
    await queue.start()
    await queue.schedule('nightly', '0 3 * * *', job('cleanup', {}), { timezone: 'America/New_York' })
    await advance(clock, 48 * HOUR, 30 * MIN)
    expect(runs).toEqual(['2026-01-01T08:00:00.000Z', '2026-01-02T08:00:00.000Z'])
  })

  it('runs once a day across daylight-saving changes, as croner defines them', async () => {
    // 02:30 does not exist on 2026-03-08 in New York (clocks jump from 02:00 to 03:00): croner
    // runs that day's occurrence at 03:00. 01:30 happens twice on 2025-11-02: it runs once.
    const spring = harness({ clock: new ManualClock(Date.UTC(2026, 2, 6, 12)) })
    const springRuns: string[] = []
    spring.queue.register('t', () => void springRuns.push(new Date(spring.clock.now()).toISOString()))
    await spring.queue.start()
    await spring.queue.schedule('s', '30 2 * * *', job('t', {}), { timezone: 'America/New_York' })
    await advance(spring.clock, 72 * HOUR, 30 * MIN)
    expect(springRuns).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'])

    const fall = harness({ clock: new ManualClock(Date.UTC(2025, 10, 1, 12)) })
    const fallRuns: string[] = []
    fall.queue.register('t', () => void fallRuns.push(new Date(fall.clock.now()).toISOString()))
    await fall.queue.start()
    await fall.queue.schedule('f', '30 1 * * *', job('t', {}), { timezone: 'America/New_York' })
    await advance(fall.clock, 48 * HOUR, 30 * MIN)
    expect(fallRuns).toEqual(['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z'])
  })

  it('understands @hourly, @daily, @weekly, @monthly and @yearly', async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 15, 10, 30))
    const { queue } = harness({ clock })
    for (const when of ['@hourly', '@daily', '@weekly', '@monthly', '@yearly']) await queue.schedule(when, when, job('t', {}), { timezone: 'UTC' })
    const next = Object.fromEntries((await queue.listSchedules()).map((s) => [s.name, new Date(s.nextRunAt).toISOString()]))
    expect(next).toEqual({
      '@daily': '2026-05-16T00:00:00.000Z',
      '@hourly': '2026-05-15T11:00:00.000Z',
      '@monthly': '2026-06-01T00:00:00.000Z',
      '@weekly': '2026-05-17T00:00:00.000Z',
      '@yearly': '2027-01-01T00:00:00.000Z',
    })
  })

  it('lists schedules with their next run and last run', async () => {
    const { queue, clock } = harness()
    queue.register('sync', () => {})
    await queue.start()
    const t0 = clock.now()
    await queue.schedule('sync', { every: MIN }, job('sync', { full: true }).onQueue('background'), {})
    await advance(clock, MIN)
    expect(await queue.listSchedules()).toEqual([
      {
        name: 'sync',
        when: { every: MIN },
        catchUp: 'once',
        type: 'sync',
        queue: 'background',
        payload: { full: true },
        nextRunAt: t0 + 2 * MIN,
        lastRunAt: t0 + MIN,
      },
    ])
  })

  it('updates a schedule called again by name, and keeps its next run when the timing is the same', async () => {
    const { queue, clock } = harness()
    const seen: unknown[] = []
    queue.register('sync', (p) => void seen.push(p))
    await queue.start()
    const t0 = clock.now()
    await queue.schedule('sync', { every: 10 * MIN }, job('sync', 'v1'))
    await advance(clock, 4 * MIN, MIN)
    // An app calls schedule() again at every start: the interval must not restart.
    await queue.schedule('sync', { every: 10 * MIN }, job('sync', 'v2'))
    expect((await queue.listSchedules())[0]?.nextRunAt).toBe(t0 + 10 * MIN)
    await advance(clock, 6 * MIN, MIN)
    expect(seen).toEqual(['v2'])
    await queue.schedule('sync', { every: MIN }, job('sync', 'v3'))
    await advance(clock, MIN)
    expect(seen).toEqual(['v2', 'v3'])
    expect(await queue.listSchedules()).toHaveLength(1)
  })

  it('stops enqueueing after unschedule', async () => {
    const { queue, clock } = harness()
    let runs = 0
    queue.register('sync', () => void runs++)
    await queue.start()
    await queue.schedule('sync', { every: MIN }, job('sync', {}))
    await advance(clock, MIN)
    await queue.unschedule('sync')
    await advance(clock, 5 * MIN, MIN)
    expect(runs).toBe(1)
    expect(await queue.listSchedules()).toEqual([])
  })

  it('keeps schedules in the store: a new engine on the store runs them', async () => {
    const { queue, clock, store } = harness()
    const t0 = clock.now()
    await queue.schedule('sync', { every: MIN }, job('sync', {}))
    await queue.stop()
    const next = harness({ store, clock })
    const runs: number[] = []
    next.queue.register('sync', () => void runs.push(clock.now()))
    expect((await next.queue.listSchedules()).map((s) => s.name)).toEqual(['sync'])
    await next.queue.start()
    await settle()
    await advance(clock, 2 * MIN, MIN)
    expect(runs).toEqual([t0 + MIN, t0 + 2 * MIN])
  })

  it('enqueues each occurrence once with several engines on one store', async () => {
    const clock = new ManualClock(1_000_000)
    const a = harness({ clock })
    const b = harness({ clock, store: a.store })
    const c = harness({ clock, store: a.store })
    const runs: string[] = []
    for (const h of [a, b, c]) {
      h.queue.register('sync', (_p, ctx) => void runs.push(ctx.id))
      await h.queue.start()
    }
    const t0 = clock.now()
    await a.queue.schedule('sync', { every: MIN }, job('sync', {}))
    await advance(clock, 10 * MIN, 30_000)
    expect(runs).toHaveLength(10)
    expect(new Set(runs).size).toBe(10)
    expect(runs[0]).toBe(`schedule:sync:${t0 + MIN}`)
  })

  it('runs one catch-up occurrence after a long sleep, by default', async () => {
    const { queue, clock } = harness()
    const runs: number[] = []
    queue.register('sync', () => void runs.push(clock.now()))
    await queue.schedule('sync', { every: 5 * MIN }, job('sync', {}))
    await queue.start()
    await settle()
    // The laptop sleeps for 3 hours: timers do not fire, then the clock jumps.
    clock.advance(0)
    await queue.stop()
    clock.advance(3 * HOUR)
    await queue.start()
    await settle()
    expect(runs).toHaveLength(1)
    const [next] = await queue.listSchedules()
    expect(next?.nextRunAt).toBeGreaterThan(clock.now())
    expect(next?.nextRunAt).toBeLessThanOrEqual(clock.now() + 5 * MIN)
  })

  it('runs no missed occurrence after a long sleep with catchUp: skip', async () => {
    const { queue, clock } = harness()
    let runs = 0
    queue.register('sync', () => void runs++)
    await queue.schedule('sync', { every: 5 * MIN }, job('sync', {}), { catchUp: 'skip' })
    // The last occurrence missed is two minutes late: past the grace.
    clock.advance(3 * HOUR + 2 * MIN)
    await queue.start()
    await settle()
    expect(runs).toBe(0)
    await advance(clock, 3 * MIN, MIN)
    expect(runs).toBe(1)
  })

  it('runs the latest missed occurrence with catchUp: skip when it is less than a minute late', async () => {
    const q = createTestQueue({ startAt: 1_000_000 })
    const ids: string[] = []
    q.register('sync', (_p, ctx) => void ids.push(ctx.id))
    const t0 = q.clock.now()
    await q.schedule('sync', '@every 5m', job('sync', {}), { catchUp: 'skip' })
    await q.stop()
    // Off for 610 s: the occurrence at 300 s is 310 s late, the one at 600 s only 10 s.
    q.clock.advance(610_000)
    await q.start()
    await q.runUntilIdle()
    expect(ids).toEqual([`schedule:sync:${t0 + 600_000}`])
    expect((await q.listSchedules())[0]?.nextRunAt).toBe(t0 + 900_000)
    await q.close()
  })

  it('runs an occurrence due just now with catchUp: skip after a long time off', async () => {
    const q = createTestQueue({ startAt: 1_000_000 })
    const ids: string[] = []
    q.register('ping', (_p, ctx) => void ids.push(ctx.id))
    const t0 = q.clock.now()
    await q.schedule('ping', '@every 30s', job('ping', {}), { catchUp: 'skip' })
    await q.stop()
    q.clock.advance(10 * MIN)
    await q.start()
    await q.runUntilIdle()
    expect(ids).toEqual([`schedule:ping:${t0 + 10 * MIN}`])
    await q.close()
  })

  it('with catchUp: skip, runs an occurrence 59 s late and drops one 61 s late', async () => {
    for (const [late, runs] of [[59_000, 1], [61_000, 0]] as const) {
      const q = createTestQueue({ startAt: 1_000_000 })
      let n = 0
      q.register('sync', () => void n++)
      await q.schedule('sync', { every: 5 * MIN }, job('sync', {}), { catchUp: 'skip' })
      await q.stop()
      q.clock.advance(5 * MIN + late)
      await q.start()
      await q.runUntilIdle()
      expect({ late, runs: n }).toEqual({ late, runs })
      await q.close()
    }
  })

  it('keeps the next run when the same timing is written another way', async () => {
    const q = createTestQueue({ startAt: 1_000_000 })
    const t0 = q.clock.now()
    await q.schedule('sync', '@every 5m', job('sync', {}))
    await q.schedule('nightly', '0 3 * * *', job('sync', {}), { timezone: 'UTC' })
    await q.advance(2 * MIN)
    const next = async (): Promise<number[]> => (await q.listSchedules()).map((s) => s.nextRunAt)
    const before = await next()
    expect(before[1]).toBe(t0 + 5 * MIN)
    for (const when of [{ every: 300_000 }, '@every 300s', ' @every  5m ', '@every 4m60s']) {
      await q.schedule('sync', when, job('sync', {}))
      expect({ when, next: await next() }).toEqual({ when, next: before })
    }
    await q.schedule('nightly', ' 0  3 * *   * ', job('sync', {}), { timezone: 'UTC' })
    expect(await next()).toEqual(before)
    await q.close()
  })

  describe('fire on time whatever the engine is doing', () => {
    /** Jobs of the `ping` schedule: id and when each was enqueued. */
    const pings = async (q: ReturnType<typeof createTestQueue>): Promise<[string, number][]> =>
      (await q.listJobs({ type: 'ping', limit: 1000 })).map((j) => [j.id, j.createdAt])
    const expected = (t0: number, n: number): [string, number][] =>
      Array.from({ length: n }, (_, i) => [`schedule:ping:${t0 + (i + 1) * 30_000}`, t0 + (i + 1) * 30_000])

    it('enqueues each occurrence on time while every slot is busy', async () => {
      const q = createTestQueue({ startAt: 1_000_000, concurrency: 1, handlerWaitMs: 0 })
      let release!: () => void
      q.register('long', () => new Promise<void>((resolve) => (release = resolve)))
      q.register('ping', () => {})
      await q.dispatch(job('long', {}))
      await q.runUntilIdle()
      const t0 = q.clock.now()
      await q.schedule('ping', '@every 30s', job('ping', {}), { catchUp: 'skip' })
      await q.advance(5 * MIN)
      expect(await pings(q)).toEqual(expected(t0, 10))
      release()
      await q.runUntilIdle()
      expect((await q.counts()).succeeded).toBe(11)
      await q.close()
    })

    it('enqueues each occurrence on time while every queue is paused', async () => {
      const q = createTestQueue({ startAt: 1_000_000 })
      q.register('ping', () => {})
      await q.runUntilIdle()
      q.pause()
      const t0 = q.clock.now()
      await q.schedule('ping', '@every 30s', job('ping', {}), { catchUp: 'skip' })
      await q.advance(5 * MIN)
      expect(await pings(q)).toEqual(expected(t0, 10))
      expect((await q.counts()).waiting).toBe(10)
      await q.close()
    })

    it('enqueues each occurrence on time with no handler registered: another engine may run them', async () => {
      const q = createTestQueue({ startAt: 1_000_000 })
      await q.runUntilIdle()
      const t0 = q.clock.now()
      await q.schedule('ping', '@every 30s', job('ping', {}).onQueue('elsewhere'))
      await q.advance(5 * MIN)
      expect(await pings(q)).toEqual(expected(t0, 10))
      await q.close()
    })

    it('enqueues nothing while the engine is stopped', async () => {
      const q = createTestQueue({ startAt: 1_000_000 })
      await q.runUntilIdle()
      await q.schedule('ping', '@every 30s', job('ping', {}), { catchUp: 'skip' })
      await q.stop()
      expect(q.clock.pending).toBe(0)
      q.clock.advance(5 * MIN)
      await new Promise((r) => setTimeout(r, 0))
      expect(await pings(q)).toEqual([])
      await q.close()
    })
  })

  it('rejects a bad cron expression, time zone or interval with InvalidArgumentError', async () => {
    const { queue } = harness()
    await expect(queue.schedule('x', '61 * * * *', job('t', {}))).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(queue.schedule('x', '0 3 * * *', job('t', {}), { timezone: 'Nowhere/Land' })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(queue.schedule('x', { every: 0 }, job('t', {}))).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(queue.schedule('', { every: 10 }, job('t', {}))).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(await queue.listSchedules()).toEqual([])
  })
})
