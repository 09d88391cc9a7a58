/**
 * A store call whose reply is lost after it committed ("commit unknown"): the engine must not
 * lose track of the jobs that call leased to it.
 */
import { describe, expect, it } from 'vitest'
import { job, memoryStore } from '../../src/index.js'
import { faultyStore } from '../../src/testing/index.js'
import { advance, harness, settle } from '../helpers.js'

describe('a claim whose reply was lost', () => {
  it('runs the jobs it leased at once, their attempt counted once: a job without retries still succeeds', async () => {
    const store = faultyStore(memoryStore(), [{ method: 'settleAndClaim', nth: 1, kind: 'after' }])
    const { queue, clock, events } = harness({ store, leaseMs: 30_000 })
    const runs: number[] = []
    queue.register('send', (_p, ctx) => void runs.push(ctx.attempt))
    await queue.dispatch(job('send', {}).withId('a').retry(0))
    await queue.start()
    // The store is asked again after its first retry delay, well within the lease.
    await advance(clock, 1000, 100)
    expect(store.injected).toMatchObject([{ method: 'settleAndClaim', kind: 'after' }])
    expect(await queue.getJob('a')).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(runs).toEqual([1])
    expect(events.filter((e) => e.kind === 'queue:error')).toHaveLength(1)
    expect(events.filter((e) => e.kind === 'job:stalled')).toEqual([])
    await queue.close()
  })

  it('sends back the jobs it leased whose lease ran out meanwhile, their attempt not spent', async () => {
    // Four failed calls in a row: the store is asked again after 100 + 500 + 2000 ms, past the lease.
    const store = faultyStore(memoryStore(), [{ method: 'settleAndClaim', nth: [1, 2, 3, 4], kind: 'after' }])
    const { queue, clock } = harness({ store, leaseMs: 1000, concurrency: 2 })
    const runs: string[] = []
    queue.register('send', (_p, ctx) => void runs.push(`${ctx.id}#${ctx.attempt}`))
    await queue.dispatchMany([job('send', {}).withId('a').retry(0), job('send', {}).withId('b').retry(0)])
    await queue.start()
    await advance(clock, 10_000, 100)
    expect(await queue.getJob('a')).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(await queue.getJob('b')).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(runs.sort()).toEqual(['a#1', 'b#1'])
    await queue.close()
  })
})

describe('a stop after a claim whose reply was lost', () => {
  it('puts the jobs that claim leased back in the queue, their attempt not spent', async () => {
    const store = faultyStore(memoryStore(), [{ method: 'settleAndClaim', nth: 1, kind: 'after' }])
    const { queue } = harness({ store, leaseMs: 30_000 })
    queue.register('send', () => 'sent')
    await queue.dispatch(job('send', {}).withId('a').retry(0))
    await queue.start()
    await settle()
    expect(store.injected).toHaveLength(1)
    await queue.stop({ timeoutMs: 1000 })
    expect(await queue.getJob('a')).toMatchObject({ state: 'waiting', attempt: 0 })
    expect((await store.getJob('a'))?.lease).toBeUndefined()
  })
})
