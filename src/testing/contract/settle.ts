/**
 * The settle half of `Store.settleAndClaim`, and the lease-bound writes `renew` and `progress`.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { SerializationError } from '../../core/errors.js'
import type { Backoff } from '../../core/types.js'
import { T0, boom, claim, claimOne, insertJobs, kinds, mustGet, newJob, rejection, settle, uncloneable, useStore, type MakeStore } from './harness.js'

export function settleContract(makeStore: MakeStore): void {
  describe('settle', () => {
    const s = useStore(makeStore)

    it('records a success: result, finishedAt, lease cleared, job:succeeded', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'succeeded', result: { ok: 1 } })
      expect(out.lost).toEqual([])
      const done = await mustGet(s.store, j.id)
      expect(done).toMatchObject({ state: 'succeeded', result: { ok: 1 }, finishedAt: 1500, attempt: 1, startedAt: T0 })
      expect(done.lease).toBeUndefined()
      expect(out.events).toEqual([expect.objectContaining({ kind: 'job:succeeded', at: 1500, jobId: j.id, type: 't', result: { ok: 1 } })])
    })

    it('puts a failed attempt with attempts left back as delayed by the backoff (job:retrying)', async () => {
      await insertJobs(s.store, [newJob({ backoff: 700 })])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'failed', error: boom })
      const retry = await mustGet(s.store, j.id)
      expect(retry).toMatchObject({ state: 'delayed', runAt: 2200, attempt: 1, error: boom })
      expect(retry.lease).toBeUndefined()
      expect(retry.finishedAt).toBeUndefined()
      expect(out.events).toEqual([
        expect.objectContaining({ kind: 'job:retrying', jobId: j.id, type: 't', attempt: 1, error: boom, retryAt: 2200 }),
      ])
      expect((await claim(s.store, 2199)).claimed).toEqual([])
      expect((await claim(s.store, 2200)).claimed).toEqual([expect.objectContaining({ id: j.id, attempt: 2 })])
    })

    it('computes the retry time from fixed and exponential backoffs', async () => {
      const retryAt = async (backoff: Backoff, attempts: number): Promise<number> => {
        // A type of its own, so each claim takes this job only.
        const job = newJob({ backoff, maxAttempts: attempts + 1 })
        await insertJobs(s.store, [{ ...job, type: job.id }])
        let delay = 0
        for (let i = 1; i <= attempts; i++) {
          const j = await claimOne(s.store, 10_000 * i, { types: [job.id] })
          await settle(s.store, j, 10_000 * i, { kind: 'failed', error: boom })
          delay = (await mustGet(s.store, job.id)).runAt - 10_000 * i
        }
        return delay
      }
      expect(await retryAt({ type: 'fixed', delay: 250 }, 2)).toBe(250)
      expect(await retryAt({ type: 'exponential', base: 100 }, 3)).toBe(400)
      expect(await retryAt({ type: 'exponential', base: 100, max: 150 }, 3)).toBe(150)
    })

    it('fails a job for good on its last attempt (job:failed)', async () => {
      await insertJobs(s.store, [newJob({ maxAttempts: 1 })])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'failed', error: boom })
      const done = await mustGet(s.store, j.id)
      expect(done).toMatchObject({ state: 'failed', finishedAt: 1500, attempt: 1, error: boom })
      expect(done.lease).toBeUndefined()
      expect(out.events).toEqual([expect.objectContaining({ kind: 'job:failed', jobId: j.id, type: 't', attempt: 1, error: boom })])
    })

    it('fails an unrecoverable attempt at once, whatever attempts are left', async () => {
      await insertJobs(s.store, [newJob({ maxAttempts: 5 })])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'failed', error: boom, unrecoverable: true })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'failed', finishedAt: 1500, attempt: 1 })
      expect(kinds(out.events)).toEqual([`job:failed ${j.id}`])
    })

    it('puts a deferred job back at its runAt without spending the attempt (job:deferred)', async () => {
      await insertJobs(s.store, [newJob(), newJob()])
      const [now, later] = (await claim(s.store, T0)).claimed
      if (!now || !later) throw new Error('expected two claimed jobs')
      const out = await s.store.settleAndClaim({
        now: 1500,
        settle: [
          { id: now.id, token: now.lease?.token ?? '', outcome: { kind: 'deferred', runAt: 1200 } },
          { id: later.id, token: later.lease?.token ?? '', outcome: { kind: 'deferred', runAt: 4000 } },
        ],
      })
      expect(await mustGet(s.store, now.id)).toMatchObject({ state: 'waiting', runAt: 1200, attempt: 0 })
      const delayed = await mustGet(s.store, later.id)
      expect(delayed).toMatchObject({ state: 'delayed', runAt: 4000, attempt: 0 })
      expect(delayed.lease).toBeUndefined()
      expect(out.events).toEqual([
        expect.objectContaining({ kind: 'job:deferred', jobId: now.id, runAt: 1200 }),
        expect.objectContaining({ kind: 'job:deferred', jobId: later.id, runAt: 4000 }),
      ])
      expect((await claim(s.store, 4000)).claimed.map((j) => [j.id, j.attempt])).toEqual([[now.id, 1], [later.id, 1]])
    })

    it('finishes a skipped job as succeeded without a result (job:skipped)', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'skipped' })
      const done = await mustGet(s.store, j.id)
      expect(done).toMatchObject({ state: 'succeeded', finishedAt: 1500 })
      expect(done.result).toBeUndefined()
      expect(kinds(out.events)).toEqual([`job:skipped ${j.id}`])
    })

    it('finishes a job cancelled while it ran as cancelled (job:cancelled)', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      const out = await settle(s.store, j, 1500, { kind: 'cancelled' })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'cancelled', finishedAt: 1500 })
      expect(kinds(out.events)).toEqual([`job:cancelled ${j.id}`])
    })

    it('settles several jobs and claims the next in one call', async () => {
      const next = newJob({ priority: -1 })
      await insertJobs(s.store, [newJob(), newJob(), next])
      const [a, b] = (await claim(s.store, T0, { limit: 2 })).claimed
      if (!a || !b) throw new Error('expected two claimed jobs')
      const out = await s.store.settleAndClaim({
        now: 1500,
        settle: [
          { id: a.id, token: a.lease?.token ?? '', outcome: { kind: 'succeeded', result: 'a' } },
          { id: b.id, token: b.lease?.token ?? '', outcome: { kind: 'failed', error: boom } },
        ],
        claim: { owner: 'engine-1', token: 'tok-next', queues: ['default'], types: ['t'], limit: 5, leaseUntil: 9000 },
      })
      expect(out.claimed.map((j) => j.id)).toEqual([next.id])
      expect((await mustGet(s.store, a.id)).state).toBe('succeeded')
      expect((await mustGet(s.store, b.id)).state).toBe('delayed')
      expect(kinds(out.events)).toEqual([`job:succeeded ${a.id}`, `job:retrying ${b.id}`, `job:started ${next.id}`])
    })

    it('changes nothing and reports the id as lost for a wrong token, a job not active, or an unknown id', async () => {
      const waiting = newJob()
      await insertJobs(s.store, [newJob(), waiting])
      const j = await claimOne(s.store, T0)
      const before = await mustGet(s.store, j.id)
      const out = await s.store.settleAndClaim({
        now: 1500,
        settle: [
          { id: j.id, token: 'not-the-token', outcome: { kind: 'succeeded' } },
          { id: waiting.id, token: j.lease?.token ?? '', outcome: { kind: 'failed', error: boom } },
          { id: 'no-such-job', token: 'x', outcome: { kind: 'succeeded' } },
        ],
      })
      expect(out.lost).toEqual([j.id, waiting.id, 'no-such-job'])
      expect(out.events).toEqual([])
      expect(await s.store.getJob(j.id)).toEqual(before)
      expect((await mustGet(s.store, waiting.id)).state).toBe('waiting')
    })

    it('reports a second settlement of a finished job as lost', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      await settle(s.store, j, 1500, { kind: 'succeeded', result: 1 })
      const out = await settle(s.store, j, 1600, { kind: 'failed', error: boom })
      expect(out.lost).toEqual([j.id])
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'succeeded', result: 1, finishedAt: 1500 })
    })

    it('rolls the whole call back when a result cannot be stored', async () => {
      const waiting = newJob({ priority: -1 })
      await insertJobs(s.store, [newJob(), newJob(), waiting])
      const [good, bad] = (await claim(s.store, T0, { limit: 2 })).claimed
      if (!good || !bad) throw new Error('expected two claimed jobs')
      const counts = await s.store.counts(T0)
      const err = await rejection(
        s.store.settleAndClaim({
          now: 1500,
          settle: [
            { id: good.id, token: good.lease?.token ?? '', outcome: { kind: 'succeeded', result: 'fine' } },
            { id: bad.id, token: bad.lease?.token ?? '', outcome: { kind: 'succeeded', result: { run: uncloneable } } },
          ],
          claim: { owner: 'engine-1', token: 'tok-2', queues: ['default'], types: ['t'], limit: 5, leaseUntil: 9000 },
        }),
      )
      expect(err).toBeInstanceOf(SerializationError)
      expect(await s.store.getJob(good.id)).toEqual(good)
      expect(await s.store.getJob(bad.id)).toEqual(bad)
      expect((await mustGet(s.store, waiting.id)).state).toBe('waiting')
      expect(await s.store.counts(T0)).toEqual(counts)
    })
  })

  describe('renew and progress', () => {
    const s = useStore(makeStore)

    it('extends only the leases held with the matching token', async () => {
      const waiting = newJob({ type: 'later' })
      await insertJobs(s.store, [newJob(), newJob(), waiting])
      const [a, b] = (await claim(s.store, T0, { leaseUntil: 2000 })).claimed
      if (!a || !b) throw new Error('expected two claimed jobs')
      const out = await s.store.renew({
        now: 1500,
        leases: [
          { id: a.id, token: a.lease?.token ?? '' },
          { id: b.id, token: 'not-the-token' },
          { id: waiting.id, token: a.lease?.token ?? '' },
          { id: 'no-such-job', token: 'x' },
        ],
        until: 5000,
      })
      expect(out).toEqual({ held: [a.id], cancelRequested: [] })
      expect((await mustGet(s.store, a.id)).lease?.until).toBe(5000)
      expect((await mustGet(s.store, b.id)).lease?.until).toBe(2000)
      expect((await claim(s.store, 2000, { owner: 'engine-2' })).claimed.map((j) => j.id)).toEqual([b.id])
    })

    it('reports held jobs that were cancelled while they ran', async () => {
      await insertJobs(s.store, [newJob(), newJob()])
      const [a, b] = (await claim(s.store, T0)).claimed
      if (!a || !b) throw new Error('expected two claimed jobs')
      await s.store.cancel({ now: 1200, jobIds: [b.id] })
      const leases = [a, b].map((j) => ({ id: j.id, token: j.lease?.token ?? '' }))
      expect(await s.store.renew({ now: 1500, leases, until: 9000 })).toEqual({ held: [a.id, b.id], cancelRequested: [b.id] })
    })

    it('stores progress while the lease is held, and returns false otherwise', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      const token = j.lease?.token ?? ''
      expect(await s.store.progress({ id: j.id, token, progress: { done: 3 } })).toBe(true)
      expect((await mustGet(s.store, j.id)).progress).toEqual({ done: 3 })
      expect(await s.store.progress({ id: j.id, token: 'not-the-token', progress: 0.9 })).toBe(false)
      expect((await mustGet(s.store, j.id)).progress).toEqual({ done: 3 })
      await settle(s.store, j, 1500, { kind: 'succeeded' })
      expect(await s.store.progress({ id: j.id, token, progress: 1 })).toBe(false)
      expect(await s.store.progress({ id: 'no-such-job', token, progress: 1 })).toBe(false)
    })
  })
}
