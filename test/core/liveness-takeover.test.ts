import { describe, expect, it } from 'vitest'
import { job, memoryStore } from '../../src/index.js'
import { manualConnectivity } from '../../src/testing/index.js'
import { harness, settle } from '../helpers.js'

/** Jobs leased by an engine that is gone: claimed on the store by an owner nobody holds. */
async function leasedByTheDead(n: number, at: number) {
  const store = memoryStore()
  const { queue: producer } = harness({ store })
  await producer.dispatchMany(Array.from({ length: n }, (_, i) => job(i % 2 ? 'a' : 'b', i).withId(`j${i}`)))
  const out = await store.settleAndClaim({
    now: at,
    settle: [],
    claim: { owner: 'gone', token: 'tk', queues: ['default'], types: ['a', 'b'], limit: n, leaseUntil: at + 30_000 },
  })
  expect(out.claimed).toHaveLength(n)
  return store
}

describe("a dead engine's jobs on a store only this context reaches", () => {
  it('are all taken over at once by an engine with one slot', async () => {
    const store = await leasedByTheDead(4, 1_000_000)
    const { queue } = harness({ store, concurrency: 1 })
    const ran: string[] = []
    queue.register('a', (_p, ctx) => void ran.push(ctx.id))
    queue.register('b', (_p, ctx) => void ran.push(ctx.id))
    await queue.start()
    await settle(20)
    expect(ran.sort()).toEqual(['j0', 'j1', 'j2', 'j3'])
    expect((await queue.getJob('j0'))?.attempt).toBe(2)
    await queue.close()
  })

  it('are taken over whatever the clock of the engine that finds them', async () => {
    const store = await leasedByTheDead(1, 5_000_000)
    const { queue } = harness({ store })
    queue.register('b', () => 'ok')
    await queue.start()
    await settle(10)
    expect(await queue.getJob('j0')).toMatchObject({ state: 'succeeded', attempt: 2 })
    await queue.close()
  })

  it("of a network-bound type are taken over the moment the connection returns", async () => {
    const store = await leasedByTheDead(2, 1_000_000)
    const net = manualConnectivity(false)
    const { queue } = harness({ store, connectivity: net })
    queue.register('a', () => 'ok', { network: 'online' })
    queue.register('b', () => 'ok')
    await queue.start()
    await settle(10)
    expect(await queue.getJob('j0')).toMatchObject({ state: 'succeeded' })
    expect(await queue.getJob('j1')).toMatchObject({ state: 'active', attempt: 1 })
    net.set(true)
    await settle(10)
    expect(await queue.getJob('j1')).toMatchObject({ state: 'succeeded', attempt: 2 })
    await queue.close()
  })

  it('of a type registered after start, or a queue resumed, are taken over then', async () => {
    const store = await leasedByTheDead(2, 1_000_000)
    const { queue } = harness({ store })
    queue.register('b', () => 'ok')
    queue.pause()
    await queue.start()
    await settle(6)
    queue.resume()
    await settle(10)
    expect(await queue.getJob('j0')).toMatchObject({ state: 'succeeded' })
    expect(await queue.getJob('j1')).toMatchObject({ state: 'active' })
    queue.register('a', () => 'ok')
    await settle(10)
    expect(await queue.getJob('j1')).toMatchObject({ state: 'succeeded', attempt: 2 })
    await queue.close()
  })
})
