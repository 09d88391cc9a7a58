import { describe, expect, it, vi } from 'vitest'
import { JobTimeoutError, StorageError, job, memoryStore, type Store } from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

/** A store that records the calls the engine makes, and can be told to fail. */
function spyStore(inner: Store = memoryStore()) {
  const calls: { method: string; settle?: number; claimed?: number; limit?: number }[] = []
  let failNext = 0
  const store: Store = {
    ...inner,
    async settleAndClaim(input) {
      if (failNext > 0) {
        failNext--
        throw new StorageError('disk went away')
      }
      const out = await inner.settleAndClaim(input)
      calls.push({ method: 'settleAndClaim', settle: input.settle.length, claimed: out.claimed.length, limit: input.claim?.limit ?? 0 })
      return out
    },
    async renew(input) {
      calls.push({ method: 'renew' })
      return inner.renew(input)
    },
  }
  return { store, calls, failTimes: (n: number) => void (failNext = n) }
}

describe('group commit', () => {
  it('claims all free slots in one store call and settles simultaneous finishes in one', async () => {
    const { store, calls } = spyStore()
    const { queue } = harness({ store, concurrency: 8 })
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.dispatchMany(Array.from({ length: 8 }, (_, i) => job('t', i)))
    await queue.start()
    await settle()
    expect(calls.filter((c) => c.method === 'settleAndClaim')).toEqual([{ method: 'settleAndClaim', settle: 0, claimed: 8, limit: 8 }])
    calls.length = 0
    gate.resolve('done')
    await settle()
    const turns = calls.filter((c) => c.method === 'settleAndClaim')
    expect(turns[0]).toMatchObject({ settle: 8 })
    expect(turns.reduce((n, c) => n + (c.settle ?? 0), 0)).toBe(8)
    expect((await queue.counts()).succeeded).toBe(8)
  })

  it('settles the last attempts and claims the next jobs in the same call', async () => {
    const { store, calls } = spyStore()
    const { queue } = harness({ store, concurrency: 2 })
    queue.register('t', () => 'ok')
    await queue.dispatchMany(Array.from({ length: 6 }, (_, i) => job('t', i)))
    await queue.start()
    await settle(5)
    const turns = calls.filter((c) => c.method === 'settleAndClaim')
    expect(turns.some((c) => c.settle === 2 && c.claimed === 2)).toBe(true)
    expect((await queue.counts()).succeeded).toBe(6)
  })
})

describe('leases', () => {
  it('renews the lease while a long handler runs, so it never stalls', async () => {
    const { store, calls } = spyStore()
    const { queue, clock, kinds } = harness({ store, leaseMs: 3000 })
    const gate = deferred()
    queue.register('long', () => gate.promise)
    await queue.start()
    const { id } = await queue.dispatch(job('long', {}))
    await settle()
    await advance(clock, 20_000, 500)
    expect(calls.filter((c) => c.method === 'renew').length).toBeGreaterThanOrEqual(6)
    const rec = await store.getJob(id)
    expect(rec?.lease?.until).toBeGreaterThan(clock.now())
    gate.resolve('ok')
    await settle()
    expect((await queue.getJob(id))?.state).toBe('succeeded')
    expect(kinds()).not.toContain('job:stalled')
  })

  it('takes over a job whose engine died once its lease ends, where the store cannot tell engines alive, counting it as an attempt', async () => {
    const { liveness: _, ...store } = memoryStore()
    const { clock, queue: a } = harness({ store, leaseMs: 1000 })
    // Engine A claims the job and then dies: it never settles and never renews.
    await a.dispatch(job('t', {}).withId('j1'))
    await store.settleAndClaim({
      now: clock.now(),
      settle: [],
      claim: { owner: 'dead', token: 'tok-dead', queues: ['default'], types: ['t'], limit: 1, leaseUntil: clock.now() + 1000 },
    })
    const b = harness({ store, leaseMs: 1000 })
    b.clock.advance(clock.now() - b.clock.now())
    const seen: number[] = []
    b.queue.register('t', (_p, ctx) => void seen.push(ctx.attempt))
    await b.queue.start()
    await settle()
    expect(seen).toEqual([]) // the lease still holds
    await advance(b.clock, 1000)
    expect(seen).toEqual([2])
    expect(b.kinds()).toContain('job:stalled')
    expect(await b.queue.getJob('j1')).toMatchObject({ state: 'succeeded', attempt: 2 })
    // A's late result changes nothing.
    const late = await store.settleAndClaim({ now: b.clock.now(), settle: [{ id: 'j1', token: 'tok-dead', outcome: { kind: 'failed', error: { name: 'Error', message: 'late' } } }] })
    expect(late.lost).toEqual(['j1'])
    expect(await b.queue.getJob('j1')).toMatchObject({ state: 'succeeded' })
  })

  it('discards the result of an attempt whose lease was lost, and aborts its signal', async () => {
    const store = memoryStore()
    const { queue, clock, kinds } = harness({ store, leaseMs: 1000 })
    const gate = deferred()
    let signal: AbortSignal | undefined
    queue.register('t', (_p, ctx) => {
      signal = ctx.signal
      return gate.promise
    })
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle()
    // Time jumps past the lease in one step (a laptop asleep): the renewal comes too late.
    clock.advance(5000)
    await store.settleAndClaim({
      now: clock.now(),
      settle: [],
      claim: { owner: 'other', token: 'tok-other', queues: ['default'], types: ['t'], limit: 1, leaseUntil: clock.now() + 60_000 },
    })
    expect(signal?.aborted).toBe(false)
    await advance(clock, 1000) // the next renewal finds the lease gone
    expect(signal?.aborted).toBe(true)
    expect(kinds()).toContain('lease:lost')
    gate.resolve('too late')
    await settle()
    const rec = await store.getJob('j')
    expect(rec).toMatchObject({ state: 'active', attempt: 2, lease: { owner: 'other', token: 'tok-other' } })
    expect(rec?.result).toBeUndefined()
  })
})

describe('timeouts', () => {
  it('fails the attempt with JobTimeoutError, aborts the signal and discards a late result', async () => {
    const { queue, clock } = harness()
    const gate = deferred()
    let reason: unknown
    queue.register('slow', async (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason))
      return gate.promise
    })
    await queue.start()
    const { id } = await queue.dispatch(job('slow', {}).timeout(500).retry(0))
    await settle()
    await advance(clock, 499)
    expect((await queue.getJob(id))?.state).toBe('active')
    await advance(clock, 1)
    expect(reason).toBeInstanceOf(JobTimeoutError)
    expect(await queue.getJob(id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError', code: 'JOB_TIMEOUT' } })
    gate.resolve('late')
    await settle()
    expect(await queue.getJob(id)).toMatchObject({ state: 'failed' })
  })

  it('retries a timed-out attempt when attempts are left', async () => {
    const { queue, clock } = harness()
    let calls = 0
    // The first attempt hangs until its signal aborts it: the retry waits for that handler to end.
    queue.register('t', (_p, ctx) =>
      ++calls === 1 ? new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))) : 'second time',
    )
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}).timeout(100).retry(1).backoff(10))
    await settle()
    await advance(clock, 200, 10)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2, result: 'second time' })
  })
})

describe('stop', () => {
  it('waits for running attempts to finish', async () => {
    const { queue } = harness()
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    let stopped = false
    const stopping = queue.stop().then(() => (stopped = true))
    await settle()
    expect(stopped).toBe(false)
    gate.resolve('finished')
    await stopping
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', result: 'finished' })
  })

  it('aborts attempts past the timeout and releases their jobs without spending the attempt', async () => {
    const { queue, clock, store } = harness()
    let signal: AbortSignal | undefined
    queue.register('t', (_p, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    const stopping = queue.stop({ timeoutMs: 2000 })
    await advance(clock, 2000)
    await stopping
    expect(signal?.aborted).toBe(true)
    const rec = await store.getJob(id)
    expect(rec).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(rec?.lease).toBeUndefined()
  })

  it('claims nothing after stop, and runs again after start', async () => {
    const { queue } = harness()
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    await queue.start()
    await queue.stop()
    await queue.dispatch(job('t', 1))
    await settle()
    expect(ran).toEqual([])
    await queue.start()
    await settle()
    expect(ran).toEqual([1])
  })

  it('leaves no timer behind when stopped', async () => {
    const { queue, clock } = harness({ leaseMs: 1000 })
    queue.register('t', () => 'ok')
    await queue.start()
    await queue.dispatchMany([job('t', 1), job('t', 2).delay(60_000)])
    await settle()
    expect(clock.pending).toBeGreaterThan(0)
    await queue.stop()
    expect(clock.pending).toBe(0)
  })
})

describe('sharing the thread', () => {
  it('lets the host run timers while a long run of ready jobs is processed', async () => {
    const { queue } = harness({ concurrency: 8 })
    let done = 0
    queue.register('t', () => void done++)
    const total = 5000
    await queue.dispatchMany(Array.from({ length: total }, (_, i) => job('t', i)))
    // Every store call of the memory store completes as a microtask: without yielding, this
    // timer would fire only once all the jobs are done.
    const seenByTimer = new Promise<number>((resolve) => setTimeout(() => resolve(done), 0))
    await queue.start()
    expect(await seenByTimer).toBeLessThan(total)
    await vi.waitFor(() => expect(done).toBe(total), { timeout: 20_000 })
  })
})

describe('storage failures', () => {
  it('reports a failing store call and keeps running once the store recovers', async () => {
    const spy = spyStore()
    const { queue, clock, events } = harness({ store: spy.store })
    queue.register('t', () => 'ok')
    await queue.start()
    await settle()
    spy.failTimes(2)
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    expect(events.filter((e) => e.kind === 'queue:error')).toHaveLength(1)
    await advance(clock, 1000, 100)
    expect(events.filter((e) => e.kind === 'queue:error').map((e) => (e as { error: { code?: string } }).error.code)).toEqual(['STORAGE', 'STORAGE'])
    expect((await queue.getJob(id))?.state).toBe('succeeded')
  })

  it('fails a job whose result cannot be stored, and settles the others', async () => {
    const { queue } = harness({ concurrency: 2 })
    const gate = deferred()
    queue.register('good', () => gate.promise)
    queue.register('bad', async () => {
      await gate.promise
      return { fn: () => 1 }
    })
    await queue.start()
    const good = await queue.dispatch(job('good', {}))
    const bad = await queue.dispatch(job('bad', {}).retry(3))
    await settle()
    gate.resolve('fine')
    await settle(5)
    expect(await queue.getJob(good.id)).toMatchObject({ state: 'succeeded', result: 'fine' })
    expect(await queue.getJob(bad.id)).toMatchObject({ state: 'failed', error: { name: 'SerializationError' } })
  })
})
