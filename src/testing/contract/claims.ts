/**
 * The claim half of `Store.settleAndClaim`: order, scope, leases, delayed jobs, expired leases
 * and concurrent claims.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { claimAheadContract } from './claim-ahead.js'
import { LEASE, T0, claim, claimOne, insertJobs, kinds, mustGet, newJob, settle, useStore, type MakeStore } from './harness.js'

export function claimContract(makeStore: MakeStore): void {
  describe('claim', () => {
    const s = useStore(makeStore)

    it('claims by priority (higher first), then runAt, then dispatch order', async () => {
      const late = newJob({ runAt: T0 + 500 })
      const early = newJob()
      const high = newJob({ priority: 5 })
      const otherQueue = newJob({ queue: 'q2' })
      const otherType = newJob({ type: 'u', priority: 1 })
      const past = newJob({ runAt: T0 - 200 })
      const low = newJob({ priority: -1, runAt: T0 - 100 })
      await insertJobs(s.store, [late, early, high, otherQueue, otherType, past, low])
      const out = await claim(s.store, 2000, { queues: ['default', 'q2'], types: ['t', 'u'] })
      expect(out.claimed.map((j) => j.id)).toEqual([high, otherType, past, early, otherQueue, late, low].map((j) => j.id))
    })

    it('claims no more jobs than the limit, the first ones in claim order', async () => {
      const jobs = [newJob(), newJob({ priority: 1 }), newJob(), newJob({ priority: 2 })]
      await insertJobs(s.store, jobs)
      const out = await claim(s.store, T0, { limit: 2 })
      expect(out.claimed.map((j) => j.id)).toEqual([jobs[3]?.id, jobs[1]?.id])
      expect((await s.store.counts(T0)).waiting).toBe(2)
    })

    it('claims only jobs of the claim\'s queues and types; the others keep waiting', async () => {
      const mine = newJob()
      const unknownType = newJob({ type: 'unknown' })
      const otherQueue = newJob({ queue: 'other' })
      await insertJobs(s.store, [mine, unknownType, otherQueue])
      const out = await claim(s.store, T0)
      expect(out.claimed.map((j) => j.id)).toEqual([mine.id])
      expect((await mustGet(s.store, unknownType.id)).state).toBe('waiting')
      expect((await mustGet(s.store, otherQueue.id)).state).toBe('waiting')
    })

    it('leases claimed jobs: active, attempt counted, startedAt = now, lease with owner, token and until', async () => {
      const j = newJob()
      await insertJobs(s.store, [j])
      const out = await claim(s.store, 1500, { owner: 'tab-a', token: 'tok-1', leaseUntil: 9000 })
      const lease = { owner: 'tab-a', token: 'tok-1', until: 9000 }
      expect(out.claimed).toHaveLength(1)
      expect(out.claimed[0]).toMatchObject({ id: j.id, state: 'active', attempt: 1, startedAt: 1500, lease })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'active', attempt: 1, startedAt: 1500, lease })
      expect(out.events).toEqual([expect.objectContaining({ kind: 'job:started', at: 1500, jobId: j.id, type: 't', queue: 'default', attempt: 1 })])
      expect(out.lost).toEqual([])
    })

    it('does not claim a delayed job before its runAt, and claims it from then on', async () => {
      const j = newJob({ runAt: 2000 })
      await insertJobs(s.store, [j])
      expect((await claim(s.store, 1999)).claimed).toEqual([])
      expect((await mustGet(s.store, j.id)).state).toBe('delayed')
      expect((await claim(s.store, 2000)).claimed.map((c) => c.id)).toEqual([j.id])
    })

    it('reports the next wake time: the earliest delayed runAt or lease end later than now', async () => {
      expect((await claim(s.store, T0)).nextWakeAt).toBeUndefined()
      const w = newJob()
      await insertJobs(s.store, [w])
      const first = await claim(s.store, T0, { leaseUntil: 2000 })
      expect(first.claimed.map((j) => j.id)).toEqual([w.id])
      expect(first.nextWakeAt).toBe(2000)
      await insertJobs(s.store, [newJob({ runAt: 5000 }), newJob({ runAt: 3000 }), newJob({ queue: 'q2', runAt: 1500 })])
      expect((await claim(s.store, 1100)).nextWakeAt).toBe(2000)
      await settle(s.store, await mustGet(s.store, w.id), 1600, { kind: 'succeeded' })
      expect((await claim(s.store, 1600)).nextWakeAt).toBe(3000)
      const atThree = await claim(s.store, 3000)
      expect(atThree.claimed).toHaveLength(1)
      expect(atThree.nextWakeAt).toBe(5000)
    })

    it('never claims a waiting job the claimer says it still runs, and fills the claim with others', async () => {
      // An earlier attempt of that job is still running on the claiming engine (it timed out
      // or lost its lease there, and the job came back to waiting).
      const [mine, b, c] = [newJob({ priority: 1 }), newJob(), newJob()]
      await insertJobs(s.store, [mine, b, c])
      const out = await claim(s.store, T0, { owner: 'engine-a', limit: 2, running: [mine.id] })
      expect(out.claimed.map((j) => j.id)).toEqual([b.id, c.id])
      expect(await mustGet(s.store, mine.id)).toMatchObject({ state: 'waiting', attempt: 0 })
      const other = await claim(s.store, T0, { owner: 'engine-b' })
      expect(other.claimed.map((j) => j.id)).toEqual([mine.id])
    })

    it('never hands the same job to two concurrent claims', async () => {
      const jobs = Array.from({ length: 20 }, () => newJob())
      await insertJobs(s.store, jobs)
      const [a, b] = await Promise.all([
        claim(s.store, T0, { owner: 'engine-a', limit: 20 }),
        claim(s.store, T0, { owner: 'engine-b', limit: 20 }),
      ])
      const ids = [...a.claimed, ...b.claimed].map((j) => j.id)
      expect(ids).toHaveLength(20)
      expect(new Set(ids)).toEqual(new Set(jobs.map((j) => j.id)))
      for (const j of a.claimed) expect((await mustGet(s.store, j.id)).lease?.owner).toBe('engine-a')
      for (const j of b.claimed) expect((await mustGet(s.store, j.id)).lease?.owner).toBe('engine-b')
    })
  })

  describe('expired leases', () => {
    const s = useStore(makeStore)

    it('claims a job again once its lease has ended, counting an attempt (job:stalled)', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', leaseUntil: 2000 })
      expect((await claim(s.store, 1999, { owner: 'engine-b' })).claimed).toEqual([])
      const out = await claim(s.store, 2000, { owner: 'engine-b', token: 'tok-b' })
      const lease = { owner: 'engine-b', token: 'tok-b', until: 2000 + LEASE }
      expect(out.claimed).toEqual([expect.objectContaining({ id: held.id, state: 'active', attempt: 2, startedAt: 2000, lease })])
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:started ${held.id}`])
      expect(out.events[1]).toMatchObject({ attempt: 2 })
    })

    it('counts an attempt for an expired lease the claimer held itself', async () => {
      // Its engine may have run the attempt and lost its outcome: a stalled attempt counts, whoever held it.
      await insertJobs(s.store, [newJob({ maxAttempts: 2 })])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', leaseUntil: 2000 })
      const out = await claim(s.store, 2000, { owner: 'engine-a', token: 'tok-2' })
      expect(out.claimed).toEqual([expect.objectContaining({ id: held.id, attempt: 2 })])
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:started ${held.id}`])
      await claim(s.store, 2000 + LEASE, { owner: 'engine-a', token: 'tok-3' })
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'failed', attempt: 2, error: { code: 'LEASE_LOST' } })
    })

    it('fails a job whose lease ended during its last attempt, with LEASE_LOST', async () => {
      await insertJobs(s.store, [newJob({ maxAttempts: 1 })])
      const held = await claimOne(s.store, T0, { leaseUntil: 2000 })
      const out = await claim(s.store, 2000, { owner: 'engine-b' })
      expect(out.claimed).toEqual([])
      const j = await mustGet(s.store, held.id)
      expect(j).toMatchObject({ state: 'failed', attempt: 1, finishedAt: 2000, error: { code: 'LEASE_LOST' } })
      expect(j.lease).toBeUndefined()
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:failed ${held.id}`])
    })

    it('cancels a job whose lease ended after a cancel was requested, instead of running it again', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', leaseUntil: 2000 })
      const asked = await s.store.cancel({ now: 1500, jobIds: [held.id] })
      expect(asked.requested).toEqual([held.id])
      const out = await claim(s.store, 2000, { owner: 'engine-b' })
      expect(out.claimed).toEqual([])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'cancelled', finishedAt: 2000 })
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:cancelled ${held.id}`])
    })

    it('leaves an expired lease alone when the claimer says it still runs that job', async () => {
      const [first, second] = [newJob({ priority: 1 }), newJob()]
      await insertJobs(s.store, [first, second])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', token: 'tok-a', leaseUntil: 2000 })
      const out = await claim(s.store, 3000, { owner: 'engine-a', limit: 1, running: [held.id] })
      expect(out.claimed.map((j) => j.id)).toEqual([second.id])
      expect(kinds(out.events)).toEqual([`job:started ${second.id}`])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'active', attempt: 1, lease: { token: 'tok-a' } })
      // Nobody took it over: the engine's renewal, once it gets through, still holds the job.
      const renewed = await s.store.renew({ now: 3100, leases: [{ id: held.id, token: 'tok-a' }], until: 9000 })
      expect(renewed.held).toEqual([held.id])
    })

    it('ignores the settlement and renewal of the engine whose lease ended', async () => {
      await insertJobs(s.store, [newJob()])
      const old = await claimOne(s.store, T0, { owner: 'engine-a', leaseUntil: 2000 })
      const taken = await claimOne(s.store, 2000, { owner: 'engine-b' })
      const before = await mustGet(s.store, taken.id)
      const out = await settle(s.store, old, 2100, { kind: 'succeeded', result: 'late' })
      expect(out.lost).toEqual([old.id])
      expect(out.events).toEqual([])
      const renewed = await s.store.renew({ now: 2100, leases: [{ id: old.id, token: old.lease?.token ?? '' }], until: 99_000 })
      expect(renewed.held).toEqual([])
      expect(await s.store.getJob(old.id)).toEqual(before)
    })
  })
  claimAheadContract(makeStore)
}
