import { describe, expect, it } from 'vitest'
import {
  InvalidArgumentError,
  NotFoundError,
  QueueClosedError,
  SerializationError,
  UnrecoverableError,
  job,
  type JobContext,
} from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

describe('dispatch and run', () => {
  it('runs a registered handler and stores its result', async () => {
    const { queue, kinds } = harness<{ add: { a: number; b: number } }>()
    queue.register('add', ({ a, b }) => a + b)
    await queue.start()
    const { id, duplicate } = await queue.dispatch(job('add', { a: 2, b: 3 }))
    expect(duplicate).toBe(false)
    await settle()
    const rec = await queue.getJob(id)
    expect(rec).toMatchObject({ state: 'succeeded', result: 5, attempt: 1, maxAttempts: 4 })
    expect(kinds()).toEqual(['job:dispatched', 'job:started', 'job:succeeded'])
  })

  it('resolves dispatch only once the job can be read back', async () => {
    const { queue } = harness()
    const { id } = await queue.dispatch(job('later', { n: 1 }))
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', payload: { n: 1 }, type: 'later', queue: 'default' })
  })

  it('starts a dispatched job at once when the engine is idle, without time passing', async () => {
    const { queue, clock } = harness()
    const ran: string[] = []
    queue.register('t', (_p, ctx) => void ran.push(ctx.id))
    await queue.start()
    await settle()
    expect(clock.pending).toBe(0) // idle: no timer armed, nothing polls
    const { id } = await queue.dispatch(job('t', null))
    await settle()
    expect(ran).toEqual([id])
  })

  it('wakes an idle engine when another queue object on the same store dispatches', async () => {
    const { queue: worker, store, clock } = harness()
    const ran: unknown[] = []
    worker.register('t', (p) => void ran.push(p))
    await worker.start()
    await settle()
    const { queue: producer } = harness({ store, clock })
    await producer.dispatch(job('t', 'from elsewhere'))
    await producer.chain(job('t', 'c1'), job('t', 'c2')).dispatch()
    await settle()
    expect(ran).toEqual(['from elsewhere', 'c1', 'c2'])
    expect(clock.pending).toBe(0)
  })

  it('shows on one queue the events of work another queue on the same store does', async () => {
    const { queue: worker, store, clock } = harness()
    worker.register('t', () => 'ok')
    await worker.start()
    const producer = harness({ store, clock })
    const { id } = await producer.queue.dispatch(job('t', {}))
    await settle()
    expect(producer.events.filter((e) => 'jobId' in e && e.jobId === id).map((e) => e.kind)).toEqual([
      'job:dispatched',
      'job:started',
      'job:succeeded',
    ])
  })

  it('runs jobs by priority, then runAt, then dispatch order', async () => {
    const { queue, clock } = harness()
    const order: string[] = []
    queue.register('t', (p: unknown) => void order.push((p as { n: string }).n))
    const now = clock.now()
    await queue.dispatchMany([
      job('t', { n: 'low-1' }),
      job('t', { n: 'high' }).priority(5),
      job('t', { n: 'low-2' }),
      job('t', { n: 'early' }).runAt(now - 1000),
      job('t', { n: 'mid' }).priority(1),
    ])
    await queue.start()
    await settle(10)
    expect(order).toEqual(['high', 'mid', 'early', 'low-1', 'low-2'])
  })

  it('claims only job types it has a handler for', async () => {
    const { queue } = harness()
    queue.register('known', () => 'ok')
    await queue.start()
    const unknown = await queue.dispatch(job('unknown', {}))
    const known = await queue.dispatch(job('known', {}))
    await settle()
    expect((await queue.getJob(known.id))?.state).toBe('succeeded')
    expect((await queue.getJob(unknown.id))?.state).toBe('waiting')
    queue.register('unknown', () => 'late')
    await settle()
    expect(await queue.getJob(unknown.id)).toMatchObject({ state: 'succeeded', result: 'late' })
  })

  it('runs a delayed job when its time comes, woken by one timer', async () => {
    const { queue, clock } = harness()
    const ran: number[] = []
    queue.register('t', () => void ran.push(clock.now()))
    await queue.start()
    const start = clock.now()
    const { id } = await queue.dispatch(job('t', {}).delay(5000))
    await settle()
    expect((await queue.getJob(id))?.state).toBe('delayed')
    expect(clock.nextAt()).toBe(start + 5000)
    await advance(clock, 4999)
    expect(ran).toEqual([])
    await advance(clock, 1)
    expect(ran).toEqual([start + 5000])
  })

  it('runs up to `concurrency` jobs at once', async () => {
    const { queue } = harness({ concurrency: 3 })
    const gate = deferred()
    let running = 0
    let peak = 0
    queue.register('t', async () => {
      peak = Math.max(peak, ++running)
      await gate.promise
      running--
    })
    await queue.dispatchMany(Array.from({ length: 7 }, (_, i) => job('t', i)))
    await queue.start()
    await settle()
    expect(running).toBe(3)
    gate.resolve(undefined)
    await settle(10)
    expect(peak).toBe(3)
    expect((await queue.counts()).succeeded).toBe(7)
  })

  it('rejects a payload that cannot be stored and writes nothing, even in a batch of specs', async () => {
    const { queue } = harness()
    const bad = job('t', { fn: () => 1 })
    await expect(queue.dispatchMany([job('t', 1), bad, job('t', 2)])).rejects.toBeInstanceOf(SerializationError)
    expect(await queue.counts()).toMatchObject({ waiting: 0 })
    expect(await queue.listJobs()).toEqual([])
  })

  it('rejects something that is not a job spec with a typed error', async () => {
    const { queue } = harness()
    await expect(queue.dispatch({ type: 't', payload: 1 } as never)).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('passes a context with attempt, signal and ids to the handler', async () => {
    const { queue } = harness()
    let seen: JobContext | undefined
    queue.register('t', (_p, ctx) => void (seen = ctx))
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}).onQueue('default').retry(1))
    await settle()
    expect(seen).toMatchObject({ id, type: 't', queue: 'default', attempt: 1, maxAttempts: 2 })
    expect(seen?.signal.aborted).toBe(false)
  })

  it('stores progress and emits it', async () => {
    const { queue, events } = harness()
    queue.register('t', async (_p, ctx) => {
      await ctx.progress(40)
      await ctx.progress({ done: 8, of: 10 })
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    expect((await queue.getJob(id))?.progress).toEqual({ done: 8, of: 10 })
    expect(events.filter((e) => e.kind === 'job:progress').map((e) => (e as { progress: unknown }).progress)).toEqual([40, { done: 8, of: 10 }])
  })

  it('keeps running when an event listener throws, and reports it', async () => {
    const { queue, events } = harness()
    queue.events.subscribe(() => {
      throw new Error('listener bug')
    })
    queue.register('t', () => 'ok')
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    expect((await queue.getJob(id))?.state).toBe('succeeded')
    expect(events.some((e) => e.kind === 'queue:error' && e.error.message === 'listener bug')).toBe(true)
  })
})

describe('uniqueness and ids', () => {
  it('returns the existing job for a unique key dispatched within the window', async () => {
    const { queue, clock } = harness()
    const first = await queue.dispatch(job('sync', { a: 1, b: 2 }).uniqueFor(60_000))
    const again = await queue.dispatch(job('sync', { b: 2, a: 1 }).uniqueFor(60_000)) // same payload, other key order
    expect(again).toEqual({ id: first.id, duplicate: true })
    const other = await queue.dispatch(job('sync', { a: 1, b: 3 }).uniqueFor(60_000))
    expect(other.duplicate).toBe(false)
    clock.advance(60_001)
    const later = await queue.dispatch(job('sync', { a: 1, b: 2 }).uniqueFor(60_000))
    expect(later.duplicate).toBe(false)
    expect(later.id).not.toBe(first.id)
  })

  it('uses an explicit unique key when given', async () => {
    const { queue } = harness()
    const a = await queue.dispatch(job('sync', { n: 1 }).uniqueFor(1000, 'sync-all'))
    const b = await queue.dispatch(job('sync', { n: 2 }).uniqueFor(1000, 'sync-all'))
    expect(b).toEqual({ id: a.id, duplicate: true })
  })

  it('treats a dispatch of a known id as a no-op', async () => {
    const { queue } = harness()
    const a = await queue.dispatch(job('t', { v: 1 }).withId('order-42'))
    const b = await queue.dispatch(job('t', { v: 2 }).withId('order-42'))
    expect(a).toEqual({ id: 'order-42', duplicate: false })
    expect(b).toEqual({ id: 'order-42', duplicate: true })
    expect((await queue.getJob('order-42'))?.payload).toEqual({ v: 1 })
    expect(await queue.listJobs()).toHaveLength(1)
  })
})

describe('retries', () => {
  it('retries with a fixed backoff and succeeds, counting attempts', async () => {
    const { queue, clock, events } = harness()
    let calls = 0
    queue.register('flaky', () => {
      if (++calls < 3) throw new Error(`fail ${calls}`)
      return 'done'
    })
    await queue.start()
    const t0 = clock.now()
    const { id } = await queue.dispatch(job('flaky', {}).retry(3).backoff(1000))
    await settle()
    expect(await queue.getJob(id)).toMatchObject({ state: 'delayed', attempt: 1, error: { message: 'fail 1' } })
    const retry = events.find((e) => e.kind === 'job:retrying')
    expect(retry).toMatchObject({ attempt: 1, retryAt: t0 + 1000 })
    await advance(clock, 1000)
    expect(await queue.getJob(id)).toMatchObject({ state: 'delayed', attempt: 2 })
    await advance(clock, 1000)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 3, result: 'done' })
  })

  it('fails for good when attempts run out', async () => {
    const { queue, clock, kinds } = harness()
    queue.register('bad', () => {
      throw new TypeError('always')
    })
    await queue.start()
    const { id } = await queue.dispatch(job('bad', {}).retry(2).backoff({ type: 'exponential', base: 100 }))
    await advance(clock, 1000, 50)
    expect(await queue.getJob(id)).toMatchObject({ state: 'failed', attempt: 3, error: { name: 'TypeError', message: 'always' } })
    expect(kinds().filter((k) => k === 'job:retrying')).toHaveLength(2)
    expect(kinds().at(-1)).toBe('job:failed')
  })

  it('fails at once on UnrecoverableError', async () => {
    const { queue } = harness()
    queue.register('t', () => {
      throw new UnrecoverableError('corrupt input')
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}).retry(5))
    await settle()
    expect(await queue.getJob(id)).toMatchObject({ state: 'failed', attempt: 1, error: { code: 'UNRECOVERABLE' } })
  })

  it('uses the queue defaults when a spec sets none', async () => {
    const { queue, clock } = harness({ defaults: { retry: 1, backoff: 10 } })
    queue.register('t', () => {
      throw new Error('x')
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await advance(clock, 100, 10)
    expect(await queue.getJob(id)).toMatchObject({ state: 'failed', attempt: 2, maxAttempts: 2 })
  })
})

describe('admin', () => {
  it('cancels a waiting job and not a finished one', async () => {
    const { queue } = harness()
    const { id } = await queue.dispatch(job('t', {}))
    expect(await queue.cancel(id)).toBe(true)
    expect((await queue.getJob(id))?.state).toBe('cancelled')
    expect(await queue.cancel(id)).toBe(false)
    expect(await queue.cancel('nope')).toBe(false)
  })

  it('cancels a running job by aborting its signal', async () => {
    const { queue } = harness()
    let signal: AbortSignal | undefined
    queue.register('t', (_p, ctx) => {
      signal = ctx.signal
      return new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}).retry(3))
    await settle()
    expect(await queue.cancel(id)).toBe(true)
    await settle()
    expect(signal?.aborted).toBe(true)
    expect(await queue.getJob(id)).toMatchObject({ state: 'cancelled' })
  })

  it('replays a failed job with its attempts reset', async () => {
    const { queue } = harness()
    let fail = true
    queue.register('t', () => {
      if (fail) throw new UnrecoverableError('no')
      return 'yes'
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    expect((await queue.getJob(id))?.state).toBe('failed')
    fail = false
    expect(await queue.replay(id)).toBe(true)
    await settle()
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1, result: 'yes' })
    expect(await queue.replay(id)).toBe(false)
  })

  it('lists jobs by state, type, queue with paging, and counts them', async () => {
    const { queue, clock } = harness()
    await queue.dispatchMany([
      job('a', 1),
      job('a', 2).onQueue('mail'),
      job('b', 3),
      job('b', 4).delay(10_000),
      job('a', 5),
    ])
    expect((await queue.listJobs({ type: 'a' })).map((j) => j.payload)).toEqual([1, 2, 5])
    expect((await queue.listJobs({ queue: 'mail' })).map((j) => j.payload)).toEqual([2])
    expect((await queue.listJobs({ state: 'delayed' })).map((j) => j.payload)).toEqual([4])
    expect((await queue.listJobs({ state: ['waiting'], limit: 2, offset: 1 })).map((j) => j.payload)).toEqual([2, 3])
    expect(await queue.counts()).toEqual({ blocked: 0, waiting: 4, delayed: 1, active: 0, succeeded: 0, failed: 0, cancelled: 0 })
    clock.advance(10_000)
    expect(await queue.counts()).toMatchObject({ waiting: 5, delayed: 0 })
    expect((await queue.listJobs({ state: 'waiting' })).map((j) => j.payload)).toEqual([1, 2, 3, 4, 5])
  })

  it('prunes finished jobs older than the cutoff', async () => {
    const { queue, clock } = harness()
    queue.register('t', () => 'ok')
    await queue.start()
    const old = await queue.dispatch(job('t', 1))
    await settle()
    clock.advance(1000)
    const cutoff = clock.now()
    const recent = await queue.dispatch(job('t', 2))
    const waiting = await queue.dispatch(job('other', 3))
    await settle()
    expect(await queue.prune(cutoff)).toBe(1)
    expect(await queue.getJob(old.id)).toBeUndefined()
    expect(await queue.getJob(recent.id)).toBeDefined()
    expect(await queue.getJob(waiting.id)).toBeDefined()
  })

  it('throws NotFoundError for an unknown batch or chain', async () => {
    const { queue } = harness()
    await expect(queue.findBatch('x')).rejects.toBeInstanceOf(NotFoundError)
    await expect(queue.findChain('x')).rejects.toBeInstanceOf(NotFoundError)
  })

  it('rejects calls after close with QueueClosedError', async () => {
    const { queue } = harness()
    await queue.close()
    await expect(queue.dispatch(job('t', {}))).rejects.toBeInstanceOf(QueueClosedError)
    await expect(queue.counts()).rejects.toMatchObject({ code: 'QUEUE_CLOSED' })
  })

  it('pauses and resumes one queue', async () => {
    const { queue, kinds } = harness({ queues: ['default', 'mail'] })
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    queue.pause('mail')
    await queue.start()
    await queue.dispatchMany([job('t', 'd'), job('t', 'm').onQueue('mail')])
    await settle()
    expect(ran).toEqual(['d'])
    queue.resume('mail')
    await settle()
    expect(ran).toEqual(['d', 'm'])
    expect(kinds()).toContain('queue:paused')
    expect(kinds()).toContain('queue:resumed')
  })

  it('pauses every queue of the engine when no queue is named', async () => {
    const { queue } = harness()
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    await queue.start()
    queue.pause()
    await queue.dispatch(job('t', 1))
    await settle()
    expect(ran).toEqual([])
    queue.resume()
    await settle()
    expect(ran).toEqual([1])
  })

  it('tells which of its queues are paused now, sorted', () => {
    const { queue } = harness({ queues: ['default', 'mail', 'audio'] })
    expect(queue.pausedQueues()).toEqual([])
    queue.pause('mail')
    expect(queue.pausedQueues()).toEqual(['mail'])
    queue.pause()
    expect(queue.pausedQueues()).toEqual(['audio', 'default', 'mail'])
    queue.resume('default')
    expect(queue.pausedQueues()).toEqual(['audio', 'mail'])
    queue.resume()
    expect(queue.pausedQueues()).toEqual([])
  })

  it('refuses a queue name that is not a non-empty string, and pausing a closed queue', async () => {
    const { queue } = harness({ queues: ['default'] })
    for (const bad of [{ x: 1 }, 123, null, '', '\ud800']) {
      expect(() => queue.pause(bad as never)).toThrow(InvalidArgumentError)
      expect(() => queue.resume(bad as never)).toThrow(InvalidArgumentError)
    }
    expect(queue.pausedQueues()).toEqual([])
    await queue.close()
    expect(() => queue.pause()).toThrow(QueueClosedError)
    expect(() => queue.resume('default')).toThrow(QueueClosedError)
  })
})
