import { describe, expect, it } from 'vitest'
import { QueueClosedError, StorageError, job, memoryStore, serializeError, type SettleAndClaimInput, type Store } from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

type Gate = ReturnType<typeof deferred>

const errorsOf = (events: { kind: string }[]) => events.filter((e) => e.kind === 'queue:error')

/** A memory store whose settleAndClaim runs `around` instead: the test decides when and how it answers. */
function wrappedStore(around: (input: SettleAndClaimInput, real: Store['settleAndClaim'], n: number) => ReturnType<Store['settleAndClaim']>): Store {
  const inner = memoryStore()
  let n = 0
  return { ...inner, settleAndClaim: (input) => around(input, (i) => inner.settleAndClaim(i), ++n) }
}

describe('a result that cannot be read', () => {
  const unreadable = {
    'a revoked proxy': () => {
      const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
      revoke()
      return { draft: proxy }
    },
    'a getter that throws': () => Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('not loaded yet') } }),
  }
  for (const [name, make] of Object.entries(unreadable)) {
    it(`fails only its job with SerializationError (${name}); the engine goes on`, async () => {
      const { queue } = harness({ concurrency: 2 })
      queue.register('bad', async () => make())
      queue.register('ok', async () => 'fine')
      await queue.start()
      await queue.dispatch(job('bad', {}).withId('bad'))
      await queue.dispatchMany([1, 2, 3].map((i) => job('ok', {}).withId(`ok${i}`)))
      await settle(6)
      expect(await queue.getJob('bad')).toMatchObject({ state: 'failed', error: { name: 'SerializationError' } })
      for (const i of [1, 2, 3]) expect((await queue.getJob(`ok${i}`))?.state).toBe('succeeded')
    })
  }
})

describe('a thrown value that cannot be read', () => {
  const thrown = {
    'a throwing stack getter': () => Object.defineProperty(new Error('x'), 'stack', { get: () => { throw new Error('stack boom') } }),
    'a symbol message': () => Object.assign(new Error('x'), { message: Symbol('m') }),
    'an object name': () => Object.assign(new Error('x'), { name: { toString: () => 'Odd' } }),
    'a revoked proxy': () => {
      const { proxy, revoke } = Proxy.revocable(new Error('r'), {})
      revoke()
      return proxy
    },
    'a throwing data getter': () => Object.defineProperty(new Error('x'), 'extra', { enumerable: true, get: () => { throw new Error('no') } }),
    'a null-prototype object': () => Object.create(null) as unknown,
  }
  for (const [name, make] of Object.entries(thrown)) {
    it(`serializes to a plain error with string name and message (${name})`, () => {
      const out = serializeError(make())
      expect(typeof out.name).toBe('string')
      expect(typeof out.message).toBe('string')
      expect(out.stack === undefined || typeof out.stack === 'string').toBe(true)
      expect(() => structuredClone(out)).not.toThrow()
    })

    it(`fails the job and frees its slot (${name})`, async () => {
      const { queue } = harness({ concurrency: 1 })
      queue.register('t', async () => {
        throw make()
      })
      queue.register('ok', async () => 'fine')
      await queue.start()
      await queue.dispatch(job('t', {}).withId('bad').retry(0))
      await queue.dispatch(job('ok', {}).withId('after'))
      await settle(6)
      expect((await queue.getJob('bad'))?.state).toBe('failed')
      expect((await queue.getJob('after'))?.state).toBe('succeeded')
    })
  }
})

describe('one job never overlaps itself on one engine', () => {
  it('after a timeout frees the slot, the job is not started again within one lease while its first handler runs', async () => {
    const { queue, clock } = harness({ concurrency: 1, leaseMs: 1000 })
    const gates: Gate[] = []
    let running = 0
    let most = 0
    queue.register('slow', async () => {
      most = Math.max(most, ++running)
      const gate = deferred()
      gates.push(gate)
      try {
        await gate.promise // ignores its signal
      } finally {
        running--
      }
    })
    queue.register('other', async () => 'done')
    await queue.start()
    await queue.dispatch(job('slow', {}).withId('s').timeout(100).retry(3).backoff(0))
    await settle()
    expect(gates).toHaveLength(1)
    await advance(clock, 100)
    expect(await queue.getJob('s')).toMatchObject({ state: 'waiting', attempt: 1, error: { name: 'JobTimeoutError' } })
    // The slot is free: other work runs while the timed-out handler hangs on.
    await queue.dispatch(job('other', {}).withId('o'))
    await advance(clock, 500, 100)
    expect((await queue.getJob('o'))?.state).toBe('succeeded')
    expect(gates).toHaveLength(1)
    expect((await queue.getJob('s'))?.state).toBe('waiting')
    gates[0]?.resolve(undefined)
    await settle()
    expect(gates).toHaveLength(2)
    expect(most).toBe(1)
    expect(await queue.getJob('s')).toMatchObject({ state: 'active', attempt: 2 })
    gates[1]?.resolve(undefined)
    await settle()
    expect((await queue.getJob('s'))?.state).toBe('succeeded')
  })

  it('gives up on a handler that never returns one lease after its attempt ended: the job is retried and fails in the end', async () => {
    const { queue, clock } = harness({ leaseMs: 1000 })
    let starts = 0
    queue.register('hang', () => {
      starts++
      return new Promise(() => {}) // ignores its signal and never settles
    })
    await queue.start()
    await queue.dispatch(job('hang', {}).withId('h').timeout(50).retry(2).backoff(0))
    await settle()
    await advance(clock, 50)
    expect(await queue.getJob('h')).toMatchObject({ state: 'waiting', attempt: 1 })
    await advance(clock, 500, 50)
    expect(starts).toBe(1) // within the lease the hung handler still holds its job here
    await advance(clock, 3000, 50)
    expect(starts).toBe(3)
    expect(await queue.getJob('h')).toMatchObject({ state: 'failed', attempt: 3, error: { name: 'JobTimeoutError' } })
  })
})

describe('start and close', () => {
  it('start() rejects with QueueClosedError once close() has begun, and the engine stays stopped', async () => {
    const { queue, clock, events } = harness()
    queue.register('w', async () => 'ok')
    await queue.start()
    await queue.dispatch(job('w', {}).delay(500))
    const closing = queue.close({ timeoutMs: 1000 })
    await expect(queue.start()).rejects.toBeInstanceOf(QueueClosedError)
    await closing
    await advance(clock, 10_000, 1000)
    expect(errorsOf(events)).toEqual([])
    await expect(queue.start()).rejects.toBeInstanceOf(QueueClosedError)
  })
})

describe('pause while a claim is in flight', () => {
  it('releases the jobs the claim brings back for paused queues, without spending their attempt', async () => {
    const gate = deferred()
    const store = wrappedStore(async (input, real, n) => {
      if (n === 1) await gate.promise
      return real(input)
    })
    const { queue } = harness({ store, concurrency: 4 })
    let runs = 0
    queue.register('w', async () => {
      runs++
    })
    await queue.dispatchMany([1, 2].map((i) => job('w', {}).withId(`w${i}`)))
    await queue.start()
    await settle()
    queue.pause()
    gate.resolve(undefined)
    await settle(6)
    expect(runs).toBe(0)
    for (const id of ['w1', 'w2']) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    queue.resume()
    await settle(6)
    expect(runs).toBe(2)
  })
})

describe('a job that comes back to waiting while this engine still runs it', () => {
  it('is not claimed by this engine until its handler returns', async () => {
    let failRenew = false
    const inner = memoryStore()
    const storeA: Store = {
      ...inner,
      async renew(input) {
        if (failRenew) throw new StorageError('renewals fail')
        return inner.renew(input)
      },
    }
    const { queue: a, clock } = harness({ store: storeA, concurrency: 2, leaseMs: 1000 })
    const gates: Gate[] = []
    a.register('work', async () => {
      const gate = deferred()
      gates.push(gate)
      await gate.promise
    })
    await a.start()
    await a.dispatch(job('work', {}).withId('j').retry(5).backoff(0))
    await settle()
    expect(gates).toHaveLength(1)
    failRenew = true
    await advance(clock, 1500, 250)
    // Another engine takes the job over as stalled and its attempt fails: the job waits again.
    const now = clock.now()
    const other = await inner.settleAndClaim({ now, settle: [], claim: { owner: 'other', token: 'tok-o', queues: ['default'], types: ['work'], limit: 1, leaseUntil: now + 1000 } })
    expect(other.claimed.map((j) => j.id)).toEqual(['j'])
    await inner.settleAndClaim({ now, settle: [{ id: 'j', token: 'tok-o', outcome: { kind: 'failed', error: { name: 'Error', message: 'b' } } }] })
    await a.dispatch(job('work', {}).withId('k'))
    await advance(clock, 500, 100)
    expect(gates).toHaveLength(2) // k ran, j did not
    expect((await a.getJob('j'))?.state).toBe('waiting')
    gates[0]?.resolve(undefined)
    await settle()
    expect(gates).toHaveLength(3)
    expect((await a.getJob('j'))?.state).toBe('active')
  })
})

