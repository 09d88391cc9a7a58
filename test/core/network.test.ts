import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, UnrecoverableError, job } from '../../src/index.js'
import { manualConnectivity } from '../../src/testing/index.js'
import { deferred, harness, settle } from '../helpers.js'

describe('network mode', () => {
  it("claims no 'online' job while offline, and starts the waiting ones the moment the connection returns", async () => {
    const net = manualConnectivity(false)
    const { queue, events } = harness({ connectivity: net, concurrency: 4 })
    const ran: string[] = []
    queue.register('upload', (p) => void ran.push(p as string), { network: 'online' })
    queue.register('local', (p) => void ran.push(p as string))
    await queue.dispatchMany([job('upload', 'u1'), job('upload', 'u2'), job('local', 'l1')])
    await queue.start()
    await settle(6)
    expect(ran).toEqual(['l1'])
    expect(await queue.counts()).toMatchObject({ waiting: 2, succeeded: 1 })
    net.set(true)
    await settle(6)
    expect(ran.sort()).toEqual(['l1', 'u1', 'u2'])
    expect(events.filter((e) => e.kind === 'job:started' && ran.includes('u1')).length).toBeGreaterThan(0)
    await queue.close()
  })

  it("puts back an 'online' attempt that fails while offline without spending it, and runs it once online", async () => {
    const net = manualConnectivity(true)
    const { queue, kinds } = harness({ connectivity: net })
    const gate = deferred()
    let calls = 0
    queue.register(
      'upload',
      async () => {
        calls++
        if (calls === 1) {
          await gate.promise
          throw new TypeError('Failed to fetch')
        }
        return 'sent'
      },
      { network: 'online' },
    )
    const { id } = await queue.dispatch(job('upload', 1).retry(0))
    await queue.start()
    await settle()
    net.set(false)
    gate.resolve(undefined)
    await settle(6)
    const held = await queue.getJob(id)
    expect(held).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(kinds()).toContain('job:deferred')
    expect(kinds()).not.toContain('job:failed')
    expect(calls).toBe(1)
    net.set(true)
    await settle(6)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1, result: 'sent' })
    await queue.close()
  })

  it('counts an attempt that failed after the connection dropped and came back during it as put back', async () => {
    const net = manualConnectivity(true)
    const { queue } = harness({ connectivity: net })
    const gate = deferred()
    let calls = 0
    queue.register(
      'upload',
      async () => {
        if (++calls === 1) {
          await gate.promise
          throw new TypeError('network changed')
        }
      },
      { network: 'online' },
    )
    const { id } = await queue.dispatch(job('upload', 1).retry(0))
    await queue.start()
    await settle()
    net.set(false)
    net.set(true)
    gate.resolve(undefined)
    await settle(8)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await queue.close()
  })

  it("runs 'offlineFirst' jobs offline, holds one that failed offline until the connection returns, then runs it", async () => {
    const net = manualConnectivity(false)
    const { queue, kinds } = harness({ connectivity: net })
    let calls = 0
    queue.register(
      'sync',
      () => {
        calls++
        if (!net.online) throw new TypeError('Failed to fetch')
        return 'synced'
      },
      { network: 'offlineFirst' },
    )
    const { id } = await queue.dispatch(job('sync', 1).retry(0))
    await queue.start()
    await settle(10)
    expect(calls).toBe(1)
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(kinds()).toContain('job:deferred')
    net.set(true)
    await settle(6)
    expect(calls).toBe(2)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1, result: 'synced' })
    await queue.close()
  })

  it("spends attempts of 'always' jobs offline, and fails an unrecoverable error at once in every mode", async () => {
    const net = manualConnectivity(false)
    const { queue } = harness({ connectivity: net })
    queue.register('plain', () => {
      throw new Error('boom')
    })
    queue.register(
      'upload',
      () => {
        throw new UnrecoverableError('bad request')
      },
      { network: 'offlineFirst' },
    )
    const a = await queue.dispatch(job('plain', 1).retry(0))
    const b = await queue.dispatch(job('upload', 1).retry(3))
    await queue.start()
    await settle(8)
    expect(await queue.getJob(a.id)).toMatchObject({ state: 'failed', attempt: 1 })
    expect(await queue.getJob(b.id)).toMatchObject({ state: 'failed', attempt: 1 })
    await queue.close()
  })

  it('puts back an attempt that times out while offline', async () => {
    const net = manualConnectivity(true)
    const { queue, clock } = harness({ connectivity: net })
    let calls = 0
    queue.register('upload', (_p, ctx) => (++calls === 1 ? new Promise((_r, rej) => ctx.signal.addEventListener('abort', () => rej(ctx.signal.reason))) : 'ok'), {
      network: 'online',
    })
    const { id } = await queue.dispatch(job('upload', 1).retry(0).timeout(1000))
    await queue.start()
    await settle()
    net.set(false)
    clock.advance(1000)
    await settle(6)
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    net.set(true)
    await settle(6)
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded' })
    await queue.close()
  })

  it('tells of the network state: queue.online and queue:offline / queue:online, once per change', async () => {
    const net = manualConnectivity(true)
    const { queue, kinds } = harness({ connectivity: net })
    expect(queue.online).toBe(true)
    net.set(false)
    expect(queue.online).toBe(false)
    net.set(true)
    expect(queue.online).toBe(true)
    expect(kinds()).toEqual(['queue:offline', 'queue:online'])
    await queue.close()
    net.set(false)
    expect(kinds()).toEqual(['queue:offline', 'queue:online'])
  })

  it('hears a connectivity that repeats itself only on real changes', async () => {
    const listeners: ((o: boolean) => void)[] = []
    let online = true
    const { queue, kinds } = harness({
      connectivity: {
        get online() {
          return online
        },
        subscribe: (l) => (listeners.push(l), () => undefined),
      },
    })
    online = false
    for (const l of listeners) l(false)
    for (const l of listeners) l(false)
    expect(kinds()).toEqual(['queue:offline'])
    await queue.close()
  })

  it('is always online in Node without a connectivity', () => {
    const { queue } = harness()
    expect(queue.online).toBe(true)
  })

  it('refuses an unknown network mode and a connectivity without the right shape', () => {
    const { queue } = harness()
    expect(() => queue.register('t', () => 1, { network: 'sometimes' as never })).toThrow(InvalidArgumentError)
    expect(() => harness({ connectivity: { online: 'yes' } as never })).toThrow(InvalidArgumentError)
  })
})

describe('drain', () => {
  it('runs a stopped engine until nothing is ready, chains to the end, and leaves it stopped', async () => {
    const { queue } = harness({ concurrency: 2 })
    const ran: number[] = []
    queue.register('t', (p) => void ran.push(p as number))
    await queue.dispatchMany([job('t', 1), job('t', 2), job('t', 3)])
    await queue.chain(job('t', 10), job('t', 11), job('t', 12)).dispatch()
    await queue.drain()
    expect(ran.sort((a, b) => a - b)).toEqual([1, 2, 3, 10, 11, 12])
    await queue.dispatch(job('t', 99))
    await settle(6)
    expect(ran).not.toContain(99)
    expect(await queue.counts()).toMatchObject({ waiting: 1 })
    await queue.close()
  })

  it('leaves a running engine running', async () => {
    const { queue } = harness()
    const ran: number[] = []
    queue.register('t', (p) => void ran.push(p as number))
    await queue.start()
    await queue.dispatchMany([job('t', 1), job('t', 2)])
    await queue.drain()
    expect(ran).toEqual([1, 2])
    await queue.dispatch(job('t', 3))
    await settle(6)
    expect(ran).toEqual([1, 2, 3])
    await queue.close()
  })

  it('does not wait for delayed jobs, retries in backoff, or online jobs while offline', async () => {
    const net = manualConnectivity(false)
    const { queue } = harness({ connectivity: net })
    queue.register('t', () => {
      throw new Error('again later')
    })
    queue.register('up', () => 1, { network: 'online' })
    await queue.dispatchMany([job('t', 1).delay(60_000), job('t', 2).retry(2), job('up', 3)])
    await queue.drain()
    expect(await queue.counts()).toMatchObject({ delayed: 2, waiting: 1, active: 0 })
  })

  it('rejects when timeoutMs passes first, and stops the engine it started', async () => {
    const { queue } = harness()
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.dispatch(job('t', 1))
    const err = await queue.drain({ timeoutMs: 50 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'DRAIN_TIMEOUT' })
    gate.resolve(undefined)
    await settle(6)
    await queue.dispatch(job('t', 2))
    await settle(6)
    expect(await queue.counts()).toMatchObject({ waiting: 1, succeeded: 1 })
    await expect(queue.drain({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

describe('network mode, edges', () => {
  it("holds back an 'offlineFirst' type after one of its jobs failed offline, and frees it when registered again", async () => {
    const net = manualConnectivity(false)
    const { queue } = harness({ connectivity: net })
    let calls = 0
    const handler = (): never => {
      calls++
      throw new TypeError('Failed to fetch')
    }
    queue.register('sync', handler, { network: 'offlineFirst' })
    await queue.dispatchMany([job('sync', 1), job('sync', 2), job('sync', 3)])
    await queue.start()
    await settle(10)
    expect(calls).toBe(1)
    expect(await queue.counts()).toMatchObject({ waiting: 3, failed: 0 })
    queue.register('sync', () => 'ok', { network: 'always' })
    await settle(10)
    expect(await queue.counts()).toMatchObject({ waiting: 0, succeeded: 3 })
    await queue.close()
  })

  it("reads the connectivity's state when an attempt ends, even before it told of the change", async () => {
    let online = true
    const { queue } = harness({ connectivity: { get online() { return online }, subscribe: () => () => undefined } })
    let calls = 0
    queue.register(
      'upload',
      () => {
        calls++
        if (calls === 1) {
          online = false
          throw new TypeError('Failed to fetch')
        }
      },
      { network: 'online' },
    )
    const { id } = await queue.dispatch(job('upload', 1).retry(0))
    await queue.start()
    await settle(8)
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(queue.online).toBe(false)
    await queue.close()
  })

  it('refuses a connectivity whose subscribe returns no function, and closes the store when unsubscribing throws', async () => {
    expect(() => harness({ connectivity: { online: true, subscribe: () => undefined as never } })).toThrow(InvalidArgumentError)
    const { queue, store, kinds } = harness({
      connectivity: {
        online: true,
        subscribe: () => () => {
          throw new Error('cannot unsubscribe')
        },
      },
    })
    await queue.close()
    expect(kinds()).toContain('queue:error')
    await expect(store.getJob('x')).rejects.toMatchObject({ code: 'QUEUE_CLOSED' })
  })
})

describe('drain, edges', () => {
  it('leaves running an engine the application started while the drain ran', async () => {
    const { queue } = harness()
    const gate = deferred()
    const ran: number[] = []
    queue.register('t', async (p) => {
      if (p === 1) await gate.promise
      ran.push(p as number)
    })
    await queue.dispatch(job('t', 1))
    const drained = queue.drain()
    await settle()
    await queue.start()
    gate.resolve(undefined)
    await drained
    await queue.dispatch(job('t', 2))
    await settle(6)
    expect(ran).toEqual([1, 2])
    await queue.close()
  })

  it("lets a drain without a timeout finish when another drain's timeout passes, then stops the engine", async () => {
    const { queue } = harness()
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.dispatch(job('t', 1))
    const timed = queue.drain({ timeoutMs: 30 }).catch((e: unknown) => e)
    const patient = queue.drain().then(
      () => 'drained',
      (e: unknown) => e,
    )
    expect(await timed).toMatchObject({ code: 'DRAIN_TIMEOUT' })
    gate.resolve(undefined)
    expect(await patient).toBe('drained')
    await queue.dispatch(job('t', 2))
    await settle(6)
    expect(await queue.counts()).toMatchObject({ waiting: 1, succeeded: 1 })
    await queue.close()
  })

  it('rejects with DRAIN_STOPPED when the engine is stopped before nothing is ready', async () => {
    const { queue } = harness()
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.dispatchMany([job('t', 1), job('t', 2)])
    await queue.start()
    const drained = queue.drain().catch((e: unknown) => e)
    await settle()
    const stopped = queue.stop({ timeoutMs: 1000 })
    gate.resolve(undefined)
    await stopped
    expect(await drained).toMatchObject({ code: 'DRAIN_STOPPED' })
    await queue.close()
  })
})
