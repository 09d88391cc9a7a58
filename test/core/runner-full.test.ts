import { describe, expect, it } from 'vitest'
import { StorageFullError, job, memoryStore, type SettleAndClaimInput, type Store } from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

/**
 * A memory store that is full while `full` is set: a call that would add data (settlements,
 * starts, a claim) fails with StorageFullError and writes nothing; a call that only deletes goes
 * through, and once it deleted something there is room again.
 */
function fullStore(): { store: Store; calls: SettleAndClaimInput[]; full: { on: boolean } } {
  const inner = memoryStore()
  const calls: SettleAndClaimInput[] = []
  const full = { on: false }
  const store: Store = {
    ...inner,
    settleAndClaim: async (input) => {
      calls.push(input)
      if (full.on && (input.settle.length > 0 || (input.started?.length ?? 0) > 0 || input.claim !== undefined)) {
        throw new StorageFullError('the origin is at its quota')
      }
      const out = await inner.settleAndClaim(input)
      if ((out.retained?.deleted ?? 0) > 0) full.on = false
      return out
    },
  }
  return { store, calls, full }
}

describe('a full store under an engine with retention', () => {
  it('makes room with a retention-only call before it retries its settlements, and dispatch works again', async () => {
    const s = fullStore()
    const h = harness({ store: s.store, concurrency: 1, retention: { succeeded: { ageMs: 60_000 } } })
    const gate = deferred()
    h.queue.register('t', async () => 'ok')
    h.queue.register('slow', async () => gate.promise)
    await h.queue.start()
    await h.queue.dispatchMany([1, 2, 3].map((n) => job('t', { n }).withId(`old${n}`)))
    await settle(10)
    await advance(h.clock, 61_000, 1000)
    await h.queue.dispatch(job('slow', {}).withId('slow'))
    await settle(10)
    // The old jobs are past their age but still stored: nothing made a slice since.
    expect(await h.queue.counts()).toMatchObject({ active: 1, succeeded: 3 })

    s.full.on = true
    const failedBefore = s.calls.length
    gate.resolve('done')
    await settle(10)
    expect(h.events.filter((e) => e.kind === 'queue:error')).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ name: 'StorageFullError' }) }),
    ])
    expect((await h.queue.getJob('slow'))?.state).toBe('active')

    // The retry after the usual backoff: first a call that only deletes, then the settlement.
    await advance(h.clock, 1000, 50)
    const after = s.calls.slice(failedBefore + 1)
    expect(after[0]).toMatchObject({ settle: [], retain: { keep: { succeeded: { ageMs: 60_000 } } } })
    expect(after[0]?.claim).toBeUndefined()
    expect(after[0]?.started).toBeUndefined()
    expect(after[1]?.settle.map((x) => x.id)).toEqual(['slow'])
    expect(s.full.on).toBe(false)
    expect((await h.queue.getJob('slow'))?.state).toBe('succeeded')
    for (const n of [1, 2, 3]) expect(await h.queue.getJob(`old${n}`)).toBeUndefined()

    await h.queue.dispatch(job('t', { n: 4 }).withId('new'))
    await settle(10)
    expect((await h.queue.getJob('new'))?.state).toBe('succeeded')
    expect(h.events.filter((e) => e.kind === 'queue:error')).toHaveLength(1)
    await h.queue.close()
  })

  it('without retention retries the same call after the backoff, and makes no call of its own', async () => {
    const s = fullStore()
    const h = harness({ store: s.store, concurrency: 1 })
    const gate = deferred()
    h.queue.register('slow', async () => gate.promise)
    await h.queue.start()
    await h.queue.dispatch(job('slow', {}).withId('slow'))
    await settle(10)
    s.full.on = true
    const before = s.calls.length
    gate.resolve('done')
    await settle(10)
    await advance(h.clock, 3000, 50)
    const after = s.calls.slice(before)
    expect(after.length).toBeGreaterThanOrEqual(3)
    for (const c of after) expect(c.settle.map((x) => x.id)).toEqual(['slow'])
    s.full.on = false
    await advance(h.clock, 5000, 100)
    expect((await h.queue.getJob('slow'))?.state).toBe('succeeded')
    await h.queue.close()
  })
})
