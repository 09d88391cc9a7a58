import { describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError, QueueClosedError, StorageError, job, memoryStore, type QueueEvent, type SettleAndClaimInput, type Store } from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

type Gate = ReturnType<typeof deferred>

/**
 * A memory store the test can make misbehave: renewals that fail, settlements that fail or wait,
 * claims that wait for a gate the test opens.
 */
function unreliableStore() {
  const inner = memoryStore()
  const ctl = {
    /** Thrown by every renewal while set. */
    failRenew: undefined as Error | undefined,
    /** Thrown by every call that settles something while set. */
    failSettle: undefined as Error | undefined,
    /** Calls that settle something wait for it while set. */
    holdSettle: undefined as Gate | undefined,
    /** Calls that claim wait for it while set. */
    holdClaim: undefined as Gate | undefined,
    calls: [] as SettleAndClaimInput[],
  }
  const store: Store = {
    ...inner,
    async settleAndClaim(input) {
      ctl.calls.push(input)
      if (input.settle.length > 0) {
        if (ctl.failSettle) throw ctl.failSettle
        if (ctl.holdSettle) await ctl.holdSettle.promise
      }
      if (input.claim && ctl.holdClaim) await ctl.holdClaim.promise
      return inner.settleAndClaim(input)
    },
    async renew(input) {
      if (ctl.failRenew) throw ctl.failRenew
      return inner.renew(input)
    },
  }
  return { store, inner, ctl }
}

/** Another engine's claim, made directly on the store. */
function claimElsewhere(store: Store, now: number, types = ['t']) {
  return store.settleAndClaim({
    now,
    settle: [],
    claim: { owner: 'elsewhere', token: 'tok-elsewhere', queues: ['default'], types, limit: 10, leaseUntil: now + 60_000 },
  })
}

const errorsOf = (events: QueueEvent[]) => events.flatMap((e) => (e.kind === 'queue:error' ? [e.error] : []))

describe('leases of an engine that keeps running', () => {
  it('never claims a job it is still running, even after failed renewals let its lease expire', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock, kinds } = harness({ store, concurrency: 2, leaseMs: 1000 })
    const gates = new Map<string, Gate>()
    const started: string[] = []
    let running = 0
    let most = 0
    queue.register('t', async (_p, ctx) => {
      started.push(ctx.id)
      most = Math.max(most, ++running)
      const gate = deferred()
      gates.set(ctx.id, gate)
      try {
        return await gate.promise
      } finally {
        running--
      }
    })
    await queue.start()
    await queue.dispatch(job('t', {}).withId('a'))
    await settle()
    ctl.failRenew = new StorageError('disk went away')
    await advance(clock, 3000, 250) // a's lease runs out while it still runs here
    await queue.dispatchMany([job('t', {}).withId('b'), job('t', {}).withId('c')])
    await settle()
    expect(started).toEqual(['a', 'b'])
    expect(most).toBe(2)

    ctl.failRenew = undefined
    await advance(clock, 1000, 250) // renewals work again: a's lease is still this engine's
    gates.get('a')?.resolve('a done')
    await settle()
    expect(await queue.getJob('a')).toMatchObject({ state: 'succeeded', attempt: 1, result: 'a done' })
    expect(started).toEqual(['a', 'b', 'c'])
    expect(most).toBe(2)
    expect(kinds()).not.toContain('lease:lost')
    expect(kinds()).not.toContain('job:stalled')
  })

  it('keeps renewing the lease of a finished attempt while its result waits for the store', async () => {
    const { store, inner, ctl } = unreliableStore()
    const { queue, clock } = harness({ store, leaseMs: 1000 })
    let runs = 0
    queue.register('t', () => {
      runs++
      return 'done'
    })
    ctl.holdSettle = deferred()
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle()
    expect(runs).toBe(1)
    await advance(clock, 5000, 250) // the settle commit is slow: five leases long
    expect((await claimElsewhere(inner, clock.now())).claimed).toEqual([])
    ctl.holdSettle.resolve(undefined)
    await settle()
    expect(await queue.getJob('j')).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(runs).toBe(1)
  })

  it('keeps renewing the lease of a finished attempt while storing its result fails', async () => {
    const { store, inner, ctl } = unreliableStore()
    const { queue, clock } = harness({ store, leaseMs: 1000 })
    let runs = 0
    queue.register('t', () => {
      runs++
      return 'done'
    })
    ctl.failSettle = new StorageError('disk went away')
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle()
    await advance(clock, 10_000, 250)
    expect((await claimElsewhere(inner, clock.now())).claimed).toEqual([])
    ctl.failSettle = undefined
    await advance(clock, 5000, 250) // the next retry stores it
    expect(await queue.getJob('j')).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(runs).toBe(1)
  })

  it('stops renewing once the result is stored', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock } = harness({ store, leaseMs: 1000 })
    queue.register('t', () => 'done')
    ctl.holdSettle = deferred()
    await queue.start()
    await queue.dispatch(job('t', {}))
    await settle()
    expect(clock.pending).toBeGreaterThan(0) // the renewal timer
    ctl.holdSettle.resolve(undefined)
    await settle()
    expect(clock.pending).toBe(0)
  })
})

describe('stop', () => {
  it('releases the jobs a claim in flight brings back after stop, without running them', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, events } = harness({ store })
    const handler = vi.fn(() => new Promise(() => {}))
    queue.register('t', handler)
    await queue.dispatch(job('t', {}).withId('j'))
    ctl.holdClaim = deferred()
    await queue.start()
    await settle() // the claim waits in the store
    let stopped = false
    const stopping = queue.stop({ timeoutMs: 100 }).then(() => (stopped = true))
    ctl.holdClaim.resolve(undefined)
    ctl.holdClaim = undefined
    await settle()
    expect(handler).not.toHaveBeenCalled()
    expect(stopped).toBe(true)
    await stopping
    expect(await store.getJob('j')).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(errorsOf(events)).toEqual([])
  })

  it('gives up on results the failing store does not take once timeoutMs has passed, and says so', async () => {
    const { store, inner, ctl } = unreliableStore()
    const { queue, clock, events } = harness({ store, leaseMs: 5000 })
    queue.register('t', () => 'done')
    // A newer version of the application upgraded the database: every write fails from now on.
    ctl.failSettle = new StorageError('the database is newer than this code', { code: 'SCHEMA_TOO_NEW' })
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle()
    let stopped = false
    // Long enough in real time that only the queue's clock ends the wait here.
    const stopping = queue.stop({ timeoutMs: 60_000 }).then(() => (stopped = true))
    await advance(clock, 59_999, 1000)
    expect(stopped).toBe(false)
    await advance(clock, 1)
    expect(stopped).toBe(true)
    await stopping
    expect(errorsOf(events).at(-1)).toMatchObject({ name: 'StorageError', message: expect.stringContaining('gave up') })
    expect(clock.pending).toBe(0)
    // The job stays leased until its lease runs out; then any engine takes it over.
    expect((await claimElsewhere(inner, clock.now())).claimed).toEqual([])
    await advance(clock, 5000)
    expect((await claimElsewhere(inner, clock.now())).claimed.map((j) => j.id)).toEqual(['j'])
  })

  it('aborts a running attempt at the timeout and resolves although its release cannot be stored', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock, events } = harness({ store })
    let signal: AbortSignal | undefined
    queue.register('t', (_p, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    await queue.start()
    await queue.dispatch(job('t', {}))
    await settle()
    ctl.failSettle = new StorageError('disk went away')
    let stopped = false
    const stopping = queue.stop({ timeoutMs: 1000 }).then(() => (stopped = true))
    await advance(clock, 1000)
    expect(signal?.aborted).toBe(true)
    expect(stopped).toBe(true)
    await stopping
    expect(errorsOf(events).at(-1)?.message).toContain('gave up')
    expect(clock.pending).toBe(0)
  })

  it('resolves close within timeoutMs while the store keeps failing, and later calls reject', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock } = harness({ store })
    queue.register('t', () => 'done')
    ctl.failSettle = new StorageError('disk went away')
    await queue.start()
    await queue.dispatch(job('t', {}))
    await settle()
    let closed = false
    const closing = queue.close({ timeoutMs: 500 }).then(() => (closed = true))
    await advance(clock, 500, 100)
    expect(closed).toBe(true)
    await closing
    await expect(queue.counts()).rejects.toBeInstanceOf(QueueClosedError)
  })

  it('bounds the wait by real time too, whatever the queue clock does', async () => {
    const { queue, clock } = harness()
    let signal: AbortSignal | undefined
    queue.register('t', (_p, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    // The manual clock never moves here: only real time ends the wait.
    await queue.stop({ timeoutMs: 20 })
    expect(signal?.aborted).toBe(true)
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(clock.pending).toBe(0)
  })

  it('rejects a timeout that is not a number of ms >= 0 with InvalidArgumentError', async () => {
    const { queue } = harness()
    await queue.start()
    await expect(queue.stop({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(queue.close({ timeoutMs: Number.NaN })).rejects.toBeInstanceOf(InvalidArgumentError)
    await queue.close({ timeoutMs: 0 })
  })

  it('runs again after start when a stop gave up', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock } = harness({ store, leaseMs: 1000 })
    const seen: number[] = []
    queue.register('t', (_p, ctx) => void seen.push(ctx.attempt))
    ctl.failSettle = new StorageError('disk went away')
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await settle()
    const stopping = queue.stop({ timeoutMs: 100 })
    await advance(clock, 100)
    await stopping
    ctl.failSettle = undefined
    await queue.start()
    await advance(clock, 1000) // the abandoned lease runs out and this engine takes the job again
    expect(seen).toEqual([1, 2])
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2 })
  })
})

describe('cancel', () => {
  it('ends a running job cancelled, and its chain, even when the handler returns normally', async () => {
    const { queue, kinds } = harness()
    const gate = deferred()
    let reason: unknown
    queue.register('first', async (_p, ctx) => {
      await gate.promise
      reason = ctx.signal.reason
      return 'finished anyway'
    })
    const second = vi.fn()
    queue.register('second', second)
    await queue.start()
    const chainId = await queue.chain(job('first', {}).withId('s1'), job('second', {}).withId('s2')).dispatch()
    await settle()
    expect(await queue.cancel('s1')).toBe(true)
    gate.resolve(undefined)
    await settle()
    expect(reason).toBeInstanceOf(Error)
    expect(await queue.getJob('s1')).toMatchObject({ state: 'cancelled' })
    expect((await queue.getJob('s1'))?.result).toBeUndefined()
    expect(await queue.getJob('s2')).toMatchObject({ state: 'cancelled' })
    expect(await queue.findChain(chainId)).toMatchObject({ state: 'cancelled' })
    expect(second).not.toHaveBeenCalled()
    expect(kinds()).not.toContain('job:succeeded')
  })

  it('ends a job cancelled when the cancel came from elsewhere and its engine never saw it', async () => {
    const { store, ctl } = unreliableStore()
    const { queue, clock } = harness({ store })
    queue.register('t', () => 'done')
    ctl.holdSettle = deferred()
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle() // the handler returned; its result waits for the store
    // Another tab cancels it meanwhile, straight on the store.
    expect((await store.cancel({ now: clock.now(), jobIds: ['j'] })).requested).toEqual(['j'])
    ctl.holdSettle.resolve(undefined)
    await settle()
    expect(await queue.getJob('j')).toMatchObject({ state: 'cancelled' })
  })
})
