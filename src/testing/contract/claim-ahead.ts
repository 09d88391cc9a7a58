/**
 * Jobs claimed ahead (`ClaimRequest.ahead`): leased to an engine but not started, stamped when
 * their handler starts (`SettleAndClaimInput.started`), and treated as not started until then.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { T0, boom, claim, insertJobs, kinds, mustGet, newBatch, newJob, useStore, type MakeStore } from './harness.js'

export function claimAheadContract(makeStore: MakeStore): void {
  describe('claim ahead', () => {
    const s = useStore(makeStore)

    it('leases up to `ahead` more jobs in claim order, flagged ahead: attempt not counted, no job:started', async () => {
      const a = newJob({ priority: 2 })
      const b = newJob({ priority: 1 })
      const c = newJob()
      const d = newJob({ runAt: T0 - 100 })
      await insertJobs(s.store, [a, b, c, d])
      const out = await claim(s.store, 1500, { limit: 1, ahead: 2, token: 'tok', leaseUntil: 9000 })
      const lease = { owner: 'engine-1', token: 'tok', until: 9000 }
      expect(out.claimed.map((j) => j.id)).toEqual([a.id, b.id, d.id])
      expect(out.claimed[0]).toMatchObject({ state: 'active', attempt: 1, lease })
      expect(out.claimed[0]?.ahead).toBeUndefined()
      expect(out.claimed[1]).toMatchObject({ state: 'active', attempt: 0, startedAt: 1500, lease, ahead: true })
      expect(await mustGet(s.store, d.id)).toMatchObject({ state: 'active', attempt: 0, startedAt: 1500, lease, ahead: true })
      expect(kinds(out.events)).toEqual([`job:started ${a.id}`])
      expect((await mustGet(s.store, c.id)).state).toBe('waiting')
    })

    it('claims ahead with no free slot: limit 0', async () => {
      const a = newJob()
      await insertJobs(s.store, [a])
      const out = await claim(s.store, 1500, { limit: 0, ahead: 5 })
      expect(out.claimed.map((j) => [j.id, j.ahead])).toEqual([[a.id, true]])
      expect(out.events).toEqual([])
    })

    it('a start stamps a job claimed ahead (attempt counted, startedAt, job:started); a start with a stale token is lost', async () => {
      const [a, b] = await insertJobs(s.store, [newJob(), newJob()])
      await claim(s.store, 1500, { limit: 0, ahead: 2, token: 'tok' })
      const out = await s.store.settleAndClaim({
        now: 1600,
        settle: [],
        started: [
          { id: a!.id, token: 'tok', at: 1550 },
          { id: b!.id, token: 'stale', at: 1550 },
        ],
      })
      expect(out.lost).toEqual([b!.id])
      expect(out.events).toEqual([expect.objectContaining({ kind: 'job:started', jobId: a!.id, attempt: 1 })])
      const stamped = await mustGet(s.store, a!.id)
      expect(stamped).toMatchObject({ state: 'active', attempt: 1, startedAt: 1550 })
      expect(stamped.ahead).toBeUndefined()
      expect(await mustGet(s.store, b!.id)).toMatchObject({ attempt: 0, ahead: true })
    })

    it('stamps and settles in one call a job started and finished between two calls', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      await claim(s.store, 1500, { limit: 0, ahead: 1, token: 'tok' })
      const out = await s.store.settleAndClaim({
        now: 1600,
        started: [{ id: a!.id, token: 'tok', at: 1550 }],
        settle: [{ id: a!.id, token: 'tok', outcome: { kind: 'failed', error: boom } }],
      })
      expect(out.lost).toEqual([])
      expect(kinds(out.events)).toEqual([`job:started ${a!.id}`, `job:retrying ${a!.id}`])
      expect(await mustGet(s.store, a!.id)).toMatchObject({ state: 'delayed', attempt: 1 })
    })

    it('a release puts a job claimed ahead back to waiting with its runAt and attempt; a started job deferred keeps its meaning', async () => {
      const [a, b] = await insertJobs(s.store, [newJob({ runAt: T0 - 100 }), newJob({ runAt: T0 - 50 })])
      await claim(s.store, 1500, { limit: 1, ahead: 1, token: 'tok' })
      const out = await s.store.settleAndClaim({
        now: 1600,
        settle: [
          { id: b!.id, token: 'tok', outcome: { kind: 'deferred', runAt: 1600 } },
          { id: a!.id, token: 'tok', outcome: { kind: 'deferred', runAt: 1700 } },
        ],
      })
      expect(out.lost).toEqual([])
      const back = await mustGet(s.store, b!.id)
      expect(back).toMatchObject({ state: 'waiting', runAt: T0 - 50, attempt: 0 })
      expect(back.lease).toBeUndefined()
      expect(back.ahead).toBeUndefined()
      expect(await mustGet(s.store, a!.id)).toMatchObject({ state: 'delayed', runAt: 1700, attempt: 0 })
      // Back in its place: claimed before jobs dispatched after it.
      await insertJobs(s.store, [newJob()], 1600)
      expect((await claim(s.store, 1600, { limit: 1 })).claimed.map((j) => j.id)).toEqual([b!.id])
    })

    it('cancel asks the engine to stop a job claimed ahead: dropped unstarted it ends cancelled, attempt not counted', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      await claim(s.store, 1500, { limit: 0, ahead: 1, token: 'tok' })
      // Its handler may have started already: the store cannot tell until the engine says.
      const out = await s.store.cancel({ now: 1600, jobIds: [a!.id] })
      expect(out).toMatchObject({ cancelled: [], requested: [a!.id] })
      expect(await mustGet(s.store, a!.id)).toMatchObject({ state: 'active', cancelRequested: true })
      const dropped = await s.store.settleAndClaim({ now: 1700, settle: [{ id: a!.id, token: 'tok', outcome: { kind: 'cancelled' } }] })
      expect(kinds(dropped.events)).toEqual([`job:cancelled ${a!.id}`])
      const j = await mustGet(s.store, a!.id)
      expect(j).toMatchObject({ state: 'cancelled', attempt: 0 })
      expect(j.startedAt).toBeUndefined()
      expect(j.lease).toBeUndefined()
    })

    it('a start of a job claimed ahead that was cancelled meanwhile counts, and tells the engine to stop its handler', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      await claim(s.store, 1500, { limit: 0, ahead: 1, token: 'tok' })
      await s.store.cancel({ now: 1600, jobIds: [a!.id] })
      const out = await s.store.settleAndClaim({ now: 1700, settle: [], started: [{ id: a!.id, token: 'tok', at: 1650 }] })
      expect(out.lost).toEqual([])
      expect(out.cancelRequested).toEqual([a!.id])
      expect(kinds(out.events)).toEqual([`job:started ${a!.id}`])
      // Whatever its handler returns, it ends cancelled.
      await s.store.settleAndClaim({ now: 1800, settle: [{ id: a!.id, token: 'tok', outcome: { kind: 'succeeded' } }] })
      expect(await mustGet(s.store, a!.id)).toMatchObject({ state: 'cancelled', attempt: 1 })
    })

    it('cancelling a batch asks its members claimed ahead to stop; the batch finishes when they and the running ones do', async () => {
      const batch = newBatch([newJob(), newJob(), newJob()])
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const out = await claim(s.store, 1500, { limit: 1, ahead: 1, token: 'tok' })
      const [running, ahead] = out.claimed
      const c = await s.store.cancel({ now: 1600, batchId: batch.id })
      const waiting = batch.jobs.map((j) => j.id).find((id) => id !== running!.id && id !== ahead!.id)
      expect(c.cancelled).toEqual([waiting])
      expect(c.requested).toEqual([ahead!.id])
      expect(await mustGet(s.store, ahead!.id)).toMatchObject({ state: 'active', cancelRequested: true })
      expect((await mustGet(s.store, running!.id)).state).toBe('active')
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'cancelled', cancelled: 1, pending: 2 })
      await s.store.settleAndClaim({ now: 1700, settle: [{ id: ahead!.id, token: 'tok', outcome: { kind: 'cancelled' } }] })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'cancelled', cancelled: 2, pending: 1 })
      expect((await s.store.getBatch(batch.id))?.finishedAt).toBeUndefined()
      await s.store.settleAndClaim({ now: 1800, settle: [{ id: running!.id, token: 'tok', outcome: { kind: 'succeeded' } }] })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'cancelled', succeeded: 1, cancelled: 2, pending: 0, finishedAt: 1800 })
    })

    it('a member failing its batch asks the members claimed ahead to stop', async () => {
      const batch = newBatch([newJob({ maxAttempts: 1 }), newJob()])
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const out = await claim(s.store, 1500, { limit: 1, ahead: 1, token: 'tok' })
      const [first, ahead] = out.claimed
      await s.store.settleAndClaim({ now: 1600, settle: [{ id: first!.id, token: 'tok', outcome: { kind: 'failed', error: boom } }] })
      expect(await mustGet(s.store, ahead!.id)).toMatchObject({ state: 'active', cancelRequested: true })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'failed', failed: 1, pending: 1 })
      await s.store.settleAndClaim({ now: 1700, settle: [{ id: ahead!.id, token: 'tok', outcome: { kind: 'deferred', runAt: 1700 } }] })
      const j = await mustGet(s.store, ahead!.id)
      expect(j.state).toBe('cancelled')
      expect(j.lease).toBeUndefined()
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'failed', failed: 1, cancelled: 1, pending: 0 })
    })

    it("takes over a dead engine's job claimed ahead that was cancelled: it ends cancelled", async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      await claim(s.store, 1500, { owner: 'dead', limit: 0, ahead: 1 })
      await s.store.cancel({ now: 1600, jobIds: [a!.id] })
      const out = await claim(s.store, 2000, { owner: 'engine-2', limit: 1, alive: { owners: [], asOf: 2000 } })
      expect(out.claimed).toEqual([])
      expect(await mustGet(s.store, a!.id)).toMatchObject({ state: 'cancelled', attempt: 0 })
    })

    it('takes over a dead engine\'s job claimed ahead without spending an attempt or a job:stalled, even at the last attempt', async () => {
      const [a] = await insertJobs(s.store, [newJob({ maxAttempts: 1 })])
      await claim(s.store, 1500, { owner: 'dead', limit: 0, ahead: 1 })
      const out = await claim(s.store, 2000, { owner: 'engine-2', limit: 1, alive: { owners: [], asOf: 2000 } })
      expect(out.claimed.map((j) => j.id)).toEqual([a!.id])
      expect(out.claimed[0]).toMatchObject({ attempt: 1, lease: { owner: 'engine-2' } })
      expect(out.claimed[0]?.ahead).toBeUndefined()
      expect(kinds(out.events)).toEqual([`job:started ${a!.id}`])
    })

    it('takes over an expired job claimed ahead without spending an attempt', async () => {
      const [a] = await insertJobs(s.store, [newJob({ maxAttempts: 1 })])
      await claim(s.store, 1500, { limit: 0, ahead: 1, leaseUntil: 1800 })
      const out = await claim(s.store, 2000, { owner: 'engine-2', limit: 0, ahead: 1 })
      expect(out.claimed.map((j) => [j.id, j.attempt, j.ahead])).toEqual([[a!.id, 0, true]])
      expect(out.events).toEqual([])
    })
  })
}
