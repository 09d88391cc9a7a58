import { describe, expect, it } from 'vitest'
import { job } from '../../src/index.js'
import { createTestQueue } from '../../src/testing/index.js'

describe('cancelling a later step of a chain', () => {
  it('cancels the steps before it that have not started, and none of them runs', async () => {
    const q = createTestQueue({ startAt: 0 })
    await q.stop()
    const ran: string[] = []
    q.register('w', (_p, ctx) => void ran.push(ctx.id))
    await q.chain(job('w', 1).withId('s1'), job('w', 2).withId('s2'), job('w', 3).withId('s3')).withId('c').onSettled(job('w', 0).withId('settled')).dispatch()
    expect(await q.cancel('s3')).toBe(true)
    await q.start()
    await q.runUntilIdle()
    const chain = await q.findChain('c')
    expect(chain.state).toBe('cancelled')
    expect(chain.steps.map((s) => s.state)).toEqual(['cancelled', 'cancelled', 'cancelled'])
    expect(ran).toEqual(['c:settled'])
    expect((await q.counts()).blocked).toBe(0)
    // Nothing is left behind once the chain is pruned.
    await q.prune(Date.now() + 1e9)
    expect(await q.listJobs()).toEqual([])
    await q.close()
  })

  it('lets a running earlier step finish and leaves no step blocked', async () => {
    const q = createTestQueue({ startAt: 0 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let resolveStarted!: () => void
    const started = new Promise<void>((r) => (resolveStarted = r))
    q.register('w', async (p) => {
      if (p === 1) {
        resolveStarted()
        await gate
      }
    })
    await q.chain(job('w', 1).withId('s1'), job('w', 2).withId('s2'), job('w', 3).withId('s3')).withId('c').dispatch()
    await started
    expect(await q.cancel('s3')).toBe(true)
    release()
    await q.runUntilIdle()
    const chain = await q.findChain('c')
    expect(chain.steps.map((s) => s.state)).toEqual(['succeeded', 'cancelled', 'cancelled'])
    expect((await q.counts()).blocked).toBe(0)
    await q.close()
  })
})
