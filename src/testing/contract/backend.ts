/**
 * The backend of a store made with `defineStore`: what core asks of a `StoreBackend` inside a
 * transaction, checked directly. A store written from scratch has no backend; these tests skip.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { storeBackend } from '../../core/define-store.js'
import type { StoreBackend } from '../../core/store-backend.js'
import type { StoredBatch, StoredJob } from '../../core/store.js'
import { T0, newBatch, newJob, useStore, type MakeStore } from './harness.js'

export function backendContract(makeStore: MakeStore): void {
  describe('backend (stores made with defineStore)', () => {
    const s = useStore(makeStore)
    const backend = (skip: (why: string) => void): StoreBackend => {
      const b = storeBackend(s.store)
      if (!b) skip('this store was not made with defineStore')
      return b as StoreBackend
    }

    it('nextSeq(count) hands out consecutive numbers larger than every one before, none twice', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const jobs = Array.from({ length: 5 }, () => newJob())
      await s.store.insert({ now: T0, jobs })
      const stored = await s.store.listJobs({}, T0)
      const seqs = stored.map((j) => j.seq)
      expect(new Set(seqs).size).toBe(5)
      const [first, second, third] = await b.write(async (tx) => [await tx.nextSeq(1000), await tx.nextSeq(), await tx.nextSeq(3)])
      expect(first).toBeGreaterThan(Math.max(...seqs))
      expect(second).toBe((first ?? 0) + 1000)
      expect(third).toBe((second ?? 0) + 1)
      const later = newJob()
      await s.store.insert({ now: T0, jobs: [later] })
      expect((await s.store.getJob(later.id))?.seq).toBeGreaterThanOrEqual((third ?? 0) + 3)
    })

    it('gives the jobs of one insert consecutive seqs in input order', async (ctx) => {
      backend((why) => ctx.skip(why))
      await s.store.insert({ now: T0, jobs: [newJob()] })
      const jobs = Array.from({ length: 20 }, () => newJob())
      await s.store.insert({ now: T0, jobs })
      const seqs = await Promise.all(jobs.map(async (j) => (await s.store.getJob(j.id))?.seq ?? NaN))
      const first = seqs[0] ?? NaN
      expect(seqs).toEqual(seqs.map((_, i) => first + i))
    })

    it('batchJobIds lists a batch by its jobs in dispatch order; an unknown batch has none', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const one = newBatch(Array.from({ length: 4 }, () => newJob({ type: 'm' })))
      const two = newBatch([newJob({ type: 'm' })])
      await s.store.insert({ now: T0, jobs: [newJob()], batches: [one, two] })
      const [ids, twoIds, none] = await b.read((tx) => Promise.all([tx.batchJobIds(one.id), tx.batchJobIds(two.id), tx.batchJobIds('no-such-batch')]))
      expect(ids).toEqual(one.jobs.map((j) => j.id))
      expect(twoIds).toEqual(two.jobs.map((j) => j.id))
      expect(none).toEqual([])
    })

    it('ignores the member list of a batch record that still carries one', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const batch = newBatch([newJob({ type: 'm' }), newJob({ type: 'm' })])
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      await b.write(async (tx) => {
        const stored = (await tx.getBatch(batch.id)) as StoredBatch
        await tx.putBatch({ ...stored, jobIds: ['stale-a', 'stale-b', 'stale-c'] } as StoredBatch)
      })
      expect((await s.store.getBatch(batch.id))?.jobIds).toEqual(batch.jobs.map((j) => j.id))
    })

    it('answers listJobs(filter, now) inside a transaction on the state users see', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const jobs = [newJob(), newJob({ runAt: 2000 }), newJob(), newJob({ runAt: 3000 })]
      await s.store.insert({ now: T0, jobs })
      const ids = (list: StoredJob[]): string[] => list.map((j) => j.id)
      const [waiting, delayed, page] = await b.read((tx) =>
        Promise.all([tx.listJobs({ state: 'waiting' }, 2500), tx.listJobs({ state: 'delayed' }, 2500), tx.listJobs({ state: 'waiting', limit: 2, offset: 1 }, 2500)]),
      )
      expect(ids(waiting)).toEqual([jobs[0], jobs[1], jobs[2]].map((j) => j?.id))
      expect(ids(delayed)).toEqual([jobs[3]?.id])
      expect(ids(page)).toEqual([jobs[1], jobs[2]].map((j) => j?.id))
    })

    it('applies requests issued together in the order they were issued', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const j = newJob()
      await s.store.insert({ now: T0, jobs: [j] })
      const seen = await b.write(async (tx) => {
        const stored = (await tx.getJob(j.id)) as StoredJob
        const [, before, , after] = await Promise.all([
          tx.putJob({ ...stored, priority: 5 }),
          tx.getJob(j.id),
          tx.putJob({ ...stored, priority: 7 }),
          tx.getJob(j.id),
        ])
        return [before?.priority, after?.priority]
      })
      expect(seen).toEqual([5, 7])
      expect((await s.store.getJob(j.id))?.priority).toBe(7)
    })
  })
}
