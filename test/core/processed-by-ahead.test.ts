import { describe, expect, it } from 'vitest'
import { createQueue, job, memoryStore, type SettleAndClaimInput, type Store } from '../../src/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'

/** A memory store that keeps every start of a job claimed ahead the engines send it. */
function recordingStarts(inner: Store = memoryStore()) {
  const starts: NonNullable<SettleAndClaimInput['started']> = []
  const store: Store = {
    ...inner,
    settleAndClaim(input) {
      starts.push(...(input.started ?? []))
      return inner.settleAndClaim(input)
    },
  }
  return { store, starts }
}

describe('processedBy of jobs claimed ahead', () => {
  it('is the version of the engine that started them: sent with each start of a job claimed ahead', async () => {
    const { store, starts } = recordingStarts()
    const clock = new ManualClock(1_000_000)
    const queue = createQueue({ store, clock, concurrency: 1, version: 'v3' })
    queue.register('t', () => 'ok')
    // Enough fast attempts for the engine to claim ahead, then a backlog it claims ahead.
    await queue.dispatchMany(Array.from({ length: 20 }, (_, i) => job('t', i)))
    await queue.drain()
    await queue.dispatchMany(Array.from({ length: 40 }, (_, i) => job('t', 20 + i)))
    await queue.drain()
    expect(starts.length).toBeGreaterThan(0)
    expect(starts.every((st) => st.version === 'v3')).toBe(true)
    const jobs = await queue.listJobs({ limit: 100 })
    expect(jobs).toHaveLength(60)
    for (const j of jobs) expect(j, String(j.payload)).toMatchObject({ state: 'succeeded', processedBy: 'v3' })
    await queue.close()
  })

  it('is not the version of an engine that only claimed them ahead and died: released, cancelled or run by another engine', async () => {
    const store = memoryStore()
    const clock = new ManualClock(1_000_000)
    const q = createQueue({ store, clock })
    const a = await q.dispatch(job('t', 'a'))
    const b = await q.dispatch(job('t', 'b'))
    const c = await q.dispatch(job('t', 'c'))
    // An engine of v2 starts a and claims b and c ahead, then dies: its lease ends.
    const out = await store.settleAndClaim({
      now: clock.now(),
      settle: [],
      claim: { owner: 'engine-v2', token: 'tok', queues: ['default'], types: ['t'], limit: 1, ahead: 2, leaseUntil: clock.now() + 1000, version: 'v2' },
    })
    expect(out.claimed.map((j) => [j.payload, j.ahead === true])).toEqual([
      ['a', false],
      ['b', true],
      ['c', true],
    ])
    clock.advance(5000)
    await q.cancel(c.id)
    const successor = createQueue({ store, clock })
    successor.register('t', () => 'ok')
    await successor.drain()
    expect(await q.getJob(a.id)).toMatchObject({ state: 'succeeded', attempt: 2, processedBy: 'v2' })
    const ranB = await q.getJob(b.id)
    expect(ranB).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(ranB?.processedBy).toBeUndefined()
    const cancelled = await q.getJob(c.id)
    expect(cancelled).toMatchObject({ state: 'cancelled', attempt: 0 })
    expect(cancelled?.processedBy).toBeUndefined()
    expect((await q.listJobs({ version: 'v2' })).map((j) => j.payload)).toEqual(['a'])
    await successor.close()
    await q.close()
  })
})
