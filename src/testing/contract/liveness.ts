/**
 * Dead engines: a claim told which engines are alive (`ClaimRequest.alive`) takes over at once
 * the leases of the others that started before `asOf`, exactly as it takes over expired ones.
 * And `Store.liveness`, where a store has it.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { LEASE, T0, claim, claimOne, insertJobs, kinds, mustGet, newJob, useStore, type MakeStore } from './harness.js'

export function livenessContract(makeStore: MakeStore): void {
  describe('dead engines', () => {
    const s = useStore(makeStore)

    it('takes over at once a lease whose owner is not alive and whose attempt started before asOf, counting an attempt', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', leaseUntil: T0 + LEASE })
      const out = await claim(s.store, 1100, { owner: 'engine-b', token: 'tok-b', alive: { owners: ['engine-b'], asOf: 1050 } })
      const lease = { owner: 'engine-b', token: 'tok-b', until: 1100 + LEASE }
      expect(out.claimed).toEqual([expect.objectContaining({ id: held.id, state: 'active', attempt: 2, startedAt: 1100, lease })])
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:started ${held.id}`])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'active', attempt: 2, lease })
    })

    it('leaves alone the lease of an owner that is alive', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', token: 'tok-a' })
      const out = await claim(s.store, 1100, { owner: 'engine-b', alive: { owners: ['engine-a', 'engine-b'], asOf: 1100 } })
      expect(out.claimed).toEqual([])
      expect(out.events).toEqual([])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'active', attempt: 1, lease: { owner: 'engine-a', token: 'tok-a' } })
    })

    it('leaves alone a lease whose attempt started at or after asOf: its owner may have begun to prove itself alive since', async () => {
      await insertJobs(s.store, [newJob(), newJob()])
      const atAsOf = await claimOne(s.store, 1100, { owner: 'engine-a', token: 'tok-a' })
      const after = await claimOne(s.store, 1200, { owner: 'engine-a', token: 'tok-a2' })
      const out = await claim(s.store, 1300, { owner: 'engine-b', alive: { owners: ['engine-b'], asOf: 1100 } })
      expect(out.claimed).toEqual([])
      expect(await mustGet(s.store, atAsOf.id)).toMatchObject({ state: 'active', attempt: 1, lease: { token: 'tok-a' } })
      expect(await mustGet(s.store, after.id)).toMatchObject({ state: 'active', attempt: 1, lease: { token: 'tok-a2' } })
      // Told later, with those attempts started before asOf, the claim takes both.
      const later = await claim(s.store, 1400, { owner: 'engine-b', alive: { owners: ['engine-b'], asOf: 1201 } })
      expect(later.claimed.map((j) => j.id).sort()).toEqual([atAsOf.id, after.id].sort())
    })

    it('counts the claimer alive even when owners leaves it out', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', token: 'tok-a' })
      const out = await claim(s.store, 1100, { owner: 'engine-a', alive: { owners: [], asOf: 1100 } })
      expect(out.claimed).toEqual([])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'active', attempt: 1, lease: { token: 'tok-a' } })
    })

    it('fails a job whose dead owner held its last attempt, with LEASE_LOST', async () => {
      await insertJobs(s.store, [newJob({ maxAttempts: 1 })])
      const held = await claimOne(s.store, T0, { owner: 'engine-a' })
      const out = await claim(s.store, 1100, { owner: 'engine-b', alive: { owners: ['engine-b'], asOf: 1100 } })
      expect(out.claimed).toEqual([])
      const j = await mustGet(s.store, held.id)
      expect(j).toMatchObject({ state: 'failed', attempt: 1, finishedAt: 1100, error: { code: 'LEASE_LOST' } })
      expect(j.lease).toBeUndefined()
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:failed ${held.id}`])
    })

    it('cancels a job whose dead owner ran it after a cancel was requested', async () => {
      await insertJobs(s.store, [newJob()])
      const held = await claimOne(s.store, T0, { owner: 'engine-a' })
      expect((await s.store.cancel({ now: 1050, jobIds: [held.id] })).requested).toEqual([held.id])
      const out = await claim(s.store, 1100, { owner: 'engine-b', alive: { owners: ['engine-b'], asOf: 1100 } })
      expect(out.claimed).toEqual([])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'cancelled', finishedAt: 1100 })
      expect(kinds(out.events)).toEqual([`job:stalled ${held.id}`, `job:cancelled ${held.id}`])
    })

    it('never takes a job the claimer says it still runs, and fills the claim with others', async () => {
      const [first, second] = [newJob({ priority: 1 }), newJob()]
      await insertJobs(s.store, [first, second])
      const held = await claimOne(s.store, T0, { owner: 'engine-a', token: 'tok-a' })
      const out = await claim(s.store, 1100, { owner: 'engine-b', limit: 1, running: [held.id], alive: { owners: [], asOf: 1100 } })
      expect(out.claimed.map((j) => j.id)).toEqual([second.id])
      expect(await mustGet(s.store, held.id)).toMatchObject({ state: 'active', attempt: 1, lease: { token: 'tok-a' } })
    })

    it('takes over no more jobs than the limit, and the rest on later claims', async () => {
      const jobs = [newJob(), newJob(), newJob()]
      await insertJobs(s.store, jobs)
      await claim(s.store, T0, { owner: 'engine-a' })
      const alive = { owners: ['engine-b'], asOf: 1100 }
      const first = await claim(s.store, 1100, { owner: 'engine-b', limit: 2, alive })
      expect(first.claimed).toHaveLength(2)
      expect(first.claimed.every((j) => j.attempt === 2)).toBe(true)
      const left = jobs.filter((j) => !first.claimed.some((c) => c.id === j.id))
      expect(left).toHaveLength(1)
      expect(await mustGet(s.store, left[0]?.id ?? '')).toMatchObject({ state: 'active', lease: { owner: 'engine-a' } })
      const second = await claim(s.store, 1200, { owner: 'engine-b', limit: 2, alive })
      expect(second.claimed.map((j) => j.id)).toEqual([left[0]?.id])
    })

    it('takes over only jobs of the claim\'s queues and types', async () => {
      const [mine, otherType, otherQueue] = [newJob(), newJob({ type: 'u' }), newJob({ queue: 'q2' })]
      await insertJobs(s.store, [mine, otherType, otherQueue])
      await claim(s.store, T0, { owner: 'engine-a', queues: ['default', 'q2'], types: ['t', 'u'] })
      const out = await claim(s.store, 1100, { owner: 'engine-b', alive: { owners: ['engine-b'], asOf: 1100 } })
      expect(out.claimed.map((j) => j.id)).toEqual([mine.id])
      expect(await mustGet(s.store, otherType.id)).toMatchObject({ state: 'active', lease: { owner: 'engine-a' } })
      expect(await mustGet(s.store, otherQueue.id)).toMatchObject({ state: 'active', lease: { owner: 'engine-a' } })
    })
  })

  describe('liveness (optional)', () => {
    const s = useStore(makeStore)

    it('lists an owner alive while it holds, and no longer once released', async (ctx) => {
      const liveness = s.store.liveness
      if (!liveness) return ctx.skip('this store has no liveness')
      const owner = `contract-owner-${Math.random().toString(36).slice(2)}`
      const release = await liveness.hold(owner)
      expect(await liveness.alive()).toContain(owner)
      release()
      await expect.poll(() => liveness.alive()).not.toContain(owner)
    })
  })
}
