/**
 * The admin side of the Store: cancel, replay, counts, listJobs, prune and close.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { QueueClosedError } from '../../core/errors.js'
import type { Store } from '../../core/store.js'
import {
  T0,
  boom,
  claimOne,
  insertJobs,
  kinds,
  mustGet,
  newBatch,
  newChain,
  newJob,
  rejection,
  run,
  settle,
  useStore,
  type MakeStore,
} from './harness.js'

export function adminContract(makeStore: MakeStore): void {
  describe('cancel and replay', () => {
    const s = useStore(makeStore)

    it('cancels waiting and delayed jobs and leaves finished and unknown ones alone', async () => {
      const waiting = newJob()
      const delayed = newJob({ runAt: 5000 })
      const done = newJob({ type: 'done' })
      await insertJobs(s.store, [waiting, delayed, done])
      await run(s.store, T0, 'done')
      const out = await s.store.cancel({ now: 1500, jobIds: [waiting.id, delayed.id, done.id, 'no-such-job'] })
      expect(out.cancelled).toEqual([waiting.id, delayed.id])
      expect(out.requested).toEqual([])
      expect(kinds(out.events)).toEqual([`job:cancelled ${waiting.id}`, `job:cancelled ${delayed.id}`])
      expect(await mustGet(s.store, waiting.id)).toMatchObject({ state: 'cancelled', finishedAt: 1500 })
      expect(await mustGet(s.store, delayed.id)).toMatchObject({ state: 'cancelled', finishedAt: 1500 })
      expect(await mustGet(s.store, done.id)).toMatchObject({ state: 'succeeded', finishedAt: T0 })
    })

    it('marks an active job, and a failure it then reports ends it as cancelled', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      const out = await s.store.cancel({ now: 1200, jobIds: [j.id] })
      expect(out).toMatchObject({ cancelled: [], requested: [j.id] })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'active', lease: j.lease })
      const settled = await settle(s.store, j, 1300, { kind: 'failed', error: boom })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'cancelled', finishedAt: 1300 })
      expect(kinds(settled.events)).toEqual([`job:cancelled ${j.id}`])
    })

    it('ends an active job whose cancel was requested as cancelled, even when it reports success', async () => {
      await insertJobs(s.store, [newJob()])
      const j = await claimOne(s.store, T0)
      await s.store.cancel({ now: 1200, jobIds: [j.id] })
      const settled = await settle(s.store, j, 1300, { kind: 'succeeded', result: 'made it' })
      const after = await mustGet(s.store, j.id)
      expect(after).toMatchObject({ state: 'cancelled', finishedAt: 1300 })
      expect(after.result).toBeUndefined()
      expect(kinds(settled.events)).toEqual([`job:cancelled ${j.id}`])
    })

    it('replays a failed or cancelled job: waiting now, attempts reset, error cleared', async () => {
      const failed = newJob({ maxAttempts: 1 })
      const cancelled = newJob({ type: 'other' })
      await insertJobs(s.store, [failed, cancelled])
      await run(s.store, T0, 't', { kind: 'failed', error: boom })
      await s.store.cancel({ now: T0, jobIds: [cancelled.id] })
      const out = await s.store.replay({ now: 3000, id: failed.id })
      expect(out.replayed).toBe(true)
      expect(kinds(out.events)).toEqual([`job:dispatched ${failed.id}`])
      const j = await mustGet(s.store, failed.id)
      expect(j).toMatchObject({ state: 'waiting', attempt: 0, runAt: 3000 })
      expect(j.error).toBeUndefined()
      expect(j.finishedAt).toBeUndefined()
      expect((await s.store.replay({ now: 3000, id: cancelled.id })).replayed).toBe(true)
      expect((await mustGet(s.store, cancelled.id)).state).toBe('waiting')
      expect(await claimOne(s.store, 3000)).toMatchObject({ id: failed.id, attempt: 1 })
    })

    it('does not replay a job that is waiting, succeeded or unknown', async () => {
      const waiting = newJob()
      const done = newJob({ type: 'done' })
      await insertJobs(s.store, [waiting, done])
      await run(s.store, T0, 'done')
      for (const id of [waiting.id, done.id, 'no-such-job']) expect((await s.store.replay({ now: 2000, id })).replayed).toBe(false)
      expect(await mustGet(s.store, waiting.id)).toMatchObject({ state: 'waiting', runAt: T0 })
      expect(await mustGet(s.store, done.id)).toMatchObject({ state: 'succeeded', finishedAt: T0 })
    })

    it('refuses to replay a chain step alone with INVALID_STATE, changing nothing', async () => {
      const first = newJob({ maxAttempts: 1 })
      await s.store.insert({ now: T0, jobs: [], chains: [newChain([first, newJob()])] })
      const failed = await run(s.store, T0, 't', { kind: 'failed', error: boom })
      expect(failed.state).toBe('failed')
      const err = await rejection(s.store.replay({ now: 2000, id: first.id }))
      expect(err).toMatchObject({ code: 'INVALID_STATE' })
      expect(await mustGet(s.store, first.id)).toEqual(failed)
    })
  })

  describe('counts and listJobs', () => {
    const s = useStore(makeStore)

    it('counts jobs per state, a delayed job past its runAt as waiting', async () => {
      await s.store.insert({ now: T0, jobs: [], chains: [newChain([newJob({ type: 'step' }), newJob({ type: 'step' })])] })
      const cancel = newJob({ type: 'x' })
      const types = ['w', 'a', 's', 'f']
      await insertJobs(s.store, [...types.map((type) => newJob({ type, maxAttempts: 1 })), newJob({ type: 'w', runAt: 5000 }), cancel])
      await claimOne(s.store, T0, { types: ['a'] })
      await run(s.store, T0, 's')
      await run(s.store, T0, 'f', { kind: 'failed', error: boom })
      await s.store.cancel({ now: T0, jobIds: [cancel.id] })
      const expected = { blocked: 1, waiting: 2, delayed: 1, active: 1, succeeded: 1, failed: 1, cancelled: 1 }
      expect(await s.store.counts(T0)).toEqual(expected)
      expect(await s.store.counts(5000)).toEqual({ ...expected, waiting: 3, delayed: 0 })
    })

    it('filters by state, type, queue, batch and chain, in dispatch order', async () => {
      const a = newJob()
      const b = newJob({ type: 'u' })
      const c = newJob({ queue: 'q2' })
      const batch = newBatch([newJob({ type: 'm' }), newJob({ type: 'm' })])
      const chain = newChain([newJob({ type: 's' }), newJob({ type: 's' })])
      await s.store.insert({ now: T0, jobs: [a, b, c], batches: [batch], chains: [chain] })
      const ids = async (filter: Parameters<Store['listJobs']>[0]): Promise<string[]> =>
        (await s.store.listJobs(filter, T0)).map((j) => j.id)
      expect(await ids({ type: 't' })).toEqual([a.id, c.id])
      expect(await ids({ type: ['t', 'u'] })).toEqual([a.id, b.id, c.id])
      expect(await ids({ queue: 'q2' })).toEqual([c.id])
      expect(await ids({ batchId: batch.id })).toEqual(batch.jobs.map((j) => j.id))
      expect(await ids({ chainId: chain.id })).toEqual(chain.steps.map((j) => j.id))
      expect(await ids({ state: 'blocked' })).toEqual([chain.steps[1]?.id])
      expect(await ids({ state: ['blocked', 'waiting'], type: 's' })).toEqual(chain.steps.map((j) => j.id))
      expect(await ids({ state: 'active' })).toEqual([])
    })

    it('pages with limit and offset in dispatch order, 100 jobs by default', async () => {
      const jobs = Array.from({ length: 101 }, () => newJob())
      await s.store.insert({ now: T0, jobs: jobs.slice(0, 50) })
      await s.store.insert({ now: T0, jobs: jobs.slice(50) })
      const ids = async (limit?: number, offset?: number): Promise<string[]> =>
        (await s.store.listJobs({ ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) }, T0)).map((j) => j.id)
      const all = jobs.map((j) => j.id)
      expect(await ids(2)).toEqual(all.slice(0, 2))
      expect(await ids(2, 2)).toEqual(all.slice(2, 4))
      expect(await ids(undefined, 99)).toEqual(all.slice(99))
      expect(await ids()).toEqual(all.slice(0, 100))
    })

    it('lists a delayed job past its runAt as waiting, not delayed', async () => {
      const waiting = newJob()
      const delayed = newJob({ runAt: 2000 })
      await insertJobs(s.store, [waiting, delayed])
      const ids = async (filter: Parameters<Store['listJobs']>[0], now: number): Promise<string[]> =>
        (await s.store.listJobs(filter, now)).map((j) => j.id)
      expect(await ids({ state: 'waiting' }, 1999)).toEqual([waiting.id])
      expect(await ids({ state: 'delayed' }, 1999)).toEqual([delayed.id])
      expect(await ids({ state: 'waiting' }, 2000)).toEqual([waiting.id, delayed.id])
      expect(await ids({ state: ['waiting'], limit: 1, offset: 1 }, 2000)).toEqual([delayed.id])
      expect(await ids({ state: 'delayed' }, 2000)).toEqual([])
    })

    it('pages state: waiting across waiting and due delayed jobs in dispatch order, and delayed without the due ones', async () => {
      // Dispatch order is insertion order, whatever the priority or runAt: seq decides.
      const jobs = Array.from({ length: 60 }, (_, i) =>
        newJob({ priority: i % 3, ...(i % 2 === 0 ? {} : { runAt: i % 4 === 1 ? 1500 + i : 9000 + i }) }),
      )
      await s.store.insert({ now: T0, jobs: jobs.slice(0, 25) })
      await s.store.insert({ now: T0, jobs: [], batches: [newBatch([newJob({ type: 'm' })])] })
      await s.store.insert({ now: T0, jobs: jobs.slice(25) })
      const now = 2000
      const waiting = jobs.filter((_, i) => i % 2 === 0 || i % 4 === 1).map((j) => j.id)
      const delayed = jobs.filter((_, i) => i % 4 === 3).map((j) => j.id)
      const page = async (state: 'waiting' | 'delayed', limit: number, offset: number): Promise<string[]> =>
        (await s.store.listJobs({ state, type: 't', limit, offset }, now)).map((j) => j.id)
      const all = async (state: 'waiting' | 'delayed', limit: number): Promise<string[]> => {
        const out: string[] = []
        for (let offset = 0; ; offset += limit) {
          const p = await page(state, limit, offset)
          out.push(...p)
          if (p.length < limit) return out
        }
      }
      expect(await all('waiting', 7)).toEqual(waiting)
      expect(await all('delayed', 4)).toEqual(delayed)
      expect(await page('waiting', 10, 20)).toEqual(waiting.slice(20, 30))
      expect(await page('delayed', 100, delayed.length)).toEqual([])
      expect((await s.store.listJobs({ state: ['delayed', 'succeeded'], limit: 3, offset: 2 }, now)).map((j) => j.id)).toEqual(delayed.slice(2, 5))
      expect((await s.store.listJobs({ state: ['waiting', 'delayed'], type: 't', limit: 1000 }, now)).map((j) => j.id)).toEqual(jobs.map((j) => j.id))
      expect((await s.store.listJobs({ state: 'waiting', limit: 2 }, now)).map((j) => j.id)).toEqual(waiting.slice(0, 2))
    })

    it('pages the jobs of a batch and of a state together', async () => {
      const batch = newBatch(Array.from({ length: 30 }, (_, i) => newJob({ type: 'm', ...(i % 3 === 0 ? { runAt: 5000 } : {}) })))
      await s.store.insert({ now: T0, jobs: [newJob({ type: 'm' })], batches: [batch] })
      const ids = batch.jobs.map((j) => j.id)
      const page = async (state: 'waiting' | 'delayed', now: number, limit: number, offset: number): Promise<string[]> =>
        (await s.store.listJobs({ batchId: batch.id, state, limit, offset }, now)).map((j) => j.id)
      expect(await page('delayed', T0, 5, 2)).toEqual(ids.filter((_, i) => i % 3 === 0).slice(2, 7))
      expect(await page('waiting', T0, 5, 5)).toEqual(ids.filter((_, i) => i % 3 !== 0).slice(5, 10))
      expect(await page('waiting', 5000, 5, 5)).toEqual(ids.slice(5, 10))
      expect(await page('delayed', 5000, 5, 0)).toEqual([])
    })
  })

  describe('prune', () => {
    const s = useStore(makeStore)

    it('deletes jobs finished before the cutoff and keeps newer and unfinished ones', async () => {
      const old = newJob({ type: 'old' })
      const oldFailed = newJob({ type: 'bad', maxAttempts: 1 })
      const recent = newJob({ type: 'recent' })
      const waiting = newJob()
      await insertJobs(s.store, [old, oldFailed, recent, waiting])
      await run(s.store, 2000, 'old')
      await run(s.store, 2000, 'bad', { kind: 'failed', error: boom })
      await run(s.store, 3000, 'recent')
      expect(await s.store.prune({ before: 3000 })).toBe(2)
      expect(await s.store.getJob(old.id)).toBeUndefined()
      expect(await s.store.getJob(oldFailed.id)).toBeUndefined()
      expect((await mustGet(s.store, recent.id)).state).toBe('succeeded')
      expect((await mustGet(s.store, waiting.id)).state).toBe('waiting')
      expect(await s.store.prune({ before: 3000 })).toBe(0)
    })

    it('deletes finished chains and batches with their jobs, and keeps the jobs of unfinished ones', async () => {
      const doneChain = newChain([newJob({ type: 'c1' })])
      const openChain = newChain([newJob({ type: 'c2' }), newJob({ type: 'c2-next' })])
      const doneBatch = newBatch([newJob({ type: 'b1' })])
      const openBatch = newBatch([newJob({ type: 'b2' }), newJob({ type: 'b2-other' })])
      await s.store.insert({ now: T0, jobs: [], chains: [doneChain, openChain], batches: [doneBatch, openBatch] })
      for (const type of ['c1', 'c2', 'b1', 'b2']) await run(s.store, 2000, type)
      expect(await s.store.prune({ before: 3000 })).toBe(2)
      expect(await s.store.getChain(doneChain.id)).toBeUndefined()
      expect(await s.store.getBatch(doneBatch.id)).toBeUndefined()
      expect(await s.store.getJob(doneChain.steps[0]?.id ?? '')).toBeUndefined()
      expect(await s.store.getJob(doneBatch.jobs[0]?.id ?? '')).toBeUndefined()
      expect((await s.store.getChain(openChain.id))?.state).toBe('running')
      expect((await s.store.getBatch(openBatch.id))?.state).toBe('running')
      expect((await mustGet(s.store, openChain.steps[0]?.id ?? '')).state).toBe('succeeded')
      expect((await mustGet(s.store, openBatch.jobs[0]?.id ?? '')).state).toBe('succeeded')
    })
  })

  describe('close', () => {
    const s = useStore(makeStore)

    it('rejects every call after close with QueueClosedError', async () => {
      await s.close()
      const now = T0
      const calls: [string, () => Promise<unknown>][] = [
        ['insert', () => s.store.insert({ now, jobs: [newJob()] })],
        ['settleAndClaim', () => s.store.settleAndClaim({ now, settle: [] })],
        ['renew', () => s.store.renew({ now, leases: [], until: now })],
        ['progress', () => s.store.progress({ id: 'x', token: 'x', progress: 1 })],
        ['cancel', () => s.store.cancel({ now, jobIds: ['x'] })],
        ['replay', () => s.store.replay({ now, id: 'x' })],
        ['prune', () => s.store.prune({ before: now })],
        ['getJob', () => s.store.getJob('x')],
        ['listJobs', () => s.store.listJobs({}, now)],
        ['counts', () => s.store.counts(now)],
        ['getChain', () => s.store.getChain('x')],
        ['getBatch', () => s.store.getBatch('x')],
      ]
      for (const [name, call] of calls) {
        expect([name, await rejection(call())]).toEqual([name, expect.any(QueueClosedError)])
      }
    })
  })
}
