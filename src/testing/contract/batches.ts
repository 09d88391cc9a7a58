/**
 * Batches: counters moved in the transaction that finishes a member, failure and cancellation
 * of the members not started, coalesced progress callbacks.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { SerializationError } from '../../core/errors.js'
import type { NewBatch, Store, StoredJob } from '../../core/store.js'
import type { BatchState } from '../../core/types.js'
import { T0, boom, claim, draft, mustGet, newBatch, newJob, rejection, settle, uncloneable, useStore, type MakeStore } from './harness.js'

const callbacks: NewBatch['callbacks'] = {
  success: draft('on-success'),
  error: draft('on-error'),
  settled: draft('on-settled'),
}

/** The batch, after checking that its counters agree with its members' states. */
async function consistentBatch(store: Store, id: string): Promise<BatchState> {
  const b = await store.getBatch(id)
  if (!b) throw new Error(`storeContract: batch ${id} is missing`)
  const states = await Promise.all(b.jobIds.map(async (m) => (await mustGet(store, m)).state))
  const n = (state: string): number => states.filter((x) => x === state).length
  expect(b).toMatchObject({
    total: b.jobIds.length,
    succeeded: n('succeeded'),
    failed: n('failed'),
    cancelled: n('cancelled'),
    pending: b.jobIds.length - n('succeeded') - n('failed') - n('cancelled'),
  })
  return b
}

/** Callback jobs of a type, as the batch enqueued them. */
async function callbackJobs(store: Store, type: string): Promise<StoredJob[]> {
  return store.listJobs({ type }, T0)
}

export function batchContract(makeStore: MakeStore): void {
  describe('batches', () => {
    const s = useStore(makeStore)
    /** Inserts a batch of `n` members of type 'm' and claims the first `started` of them. */
    const start = async (n: number, started: number, o: Partial<Omit<NewBatch, 'jobs'>> = {}): Promise<{ batch: NewBatch; active: StoredJob[] }> => {
      const batch = newBatch(Array.from({ length: n }, () => newJob({ type: 'm', maxAttempts: 1 })), { callbacks, ...o })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const active = started > 0 ? (await claim(s.store, T0, { types: ['m'], limit: started })).claimed : []
      return { batch, active }
    }
    const at = (list: StoredJob[], i: number): StoredJob => {
      const j = list[i]
      if (!j) throw new Error(`storeContract: no job at ${i}`)
      return j
    }

    it('writes the members waiting and the batch running with its counters', async () => {
      const { batch } = await start(3, 0, { name: 'nightly' })
      expect(await s.store.getBatch(batch.id)).toEqual({
        id: batch.id,
        name: 'nightly',
        state: 'running',
        total: 3,
        pending: 3,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        jobIds: batch.jobs.map((j) => j.id),
        createdAt: T0,
      })
      for (const m of batch.jobs) expect(await mustGet(s.store, m.id)).toMatchObject({ state: 'waiting', batchId: batch.id })
    })

    it('moves the counters as members finish and succeeds once all have', async () => {
      const { batch, active } = await start(3, 3)
      await settle(s.store, at(active, 0), 1500, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 2, succeeded: 1 })
      await settle(s.store, at(active, 1), 1600, { kind: 'skipped' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 1, succeeded: 2 })
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([])
      await settle(s.store, at(active, 2), 1700, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', pending: 0, succeeded: 3, finishedAt: 1700 })
      expect(await callbackJobs(s.store, 'on-success')).toEqual([
        expect.objectContaining({ state: 'waiting', callbackOf: { group: 'batch', id: batch.id, on: 'success' } }),
      ])
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-error')).toEqual([])
    })

    it('fails at the first failure and cancels the members not started; the running ones finish', async () => {
      const { batch, active } = await start(4, 2)
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 1, failed: 1, cancelled: 2 })
      expect((await mustGet(s.store, at(active, 1).id)).state).toBe('active')
      expect(await callbackJobs(s.store, 'on-error')).toEqual([
        expect.objectContaining({ groupError: boom, callbackOf: { group: 'batch', id: batch.id, on: 'error' } }),
      ])
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([])
      await settle(s.store, at(active, 1), 2500, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 1, finishedAt: 2500 })
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-success')).toEqual([])
    })

    it('keeps going with allowFailures and ends failed, without onSuccess', async () => {
      const { batch, active } = await start(3, 3, { allowFailures: true })
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 2, failed: 1, cancelled: 0 })
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
      await settle(s.store, at(active, 1), 2100, { kind: 'succeeded' })
      await settle(s.store, at(active, 2), 2200, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 2, failed: 1, finishedAt: 2200 })
      expect(await callbackJobs(s.store, 'on-success')).toEqual([])
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
    })

    it('coalesces progress callbacks: at most one waits at a time', async () => {
      const { active } = await start(3, 3, { callbacks: { progress: draft('on-progress') } })
      const waitingProgress = async (): Promise<string[]> =>
        (await s.store.listJobs({ type: 'on-progress', state: ['waiting', 'delayed'] }, 5000)).map((j) => j.id)
      await settle(s.store, at(active, 0), 1500, { kind: 'succeeded' })
      const [first] = await waitingProgress()
      expect(first).toBeDefined()
      await settle(s.store, at(active, 1), 1600, { kind: 'succeeded' })
      expect(await waitingProgress()).toEqual([first])
      expect((await claim(s.store, 1700, { types: ['on-progress'] })).claimed.map((j) => j.id)).toEqual([first])
      await settle(s.store, at(active, 2), 1800, { kind: 'succeeded' })
      const now = await waitingProgress()
      expect(now).toHaveLength(1)
      expect(now[0]).not.toBe(first)
      expect(await callbackJobs(s.store, 'on-progress')).toHaveLength(2)
      expect((await mustGet(s.store, now[0] ?? '')).callbackOf).toMatchObject({ group: 'batch', on: 'progress' })
    })

    it('cancels the members not started on cancel({ batchId }), settling once the running ones finish', async () => {
      const { batch, active } = await start(3, 1)
      const out = await s.store.cancel({ now: 2000, batchId: batch.id })
      expect([...out.cancelled].sort()).toEqual(batch.jobs.slice(1).map((j) => j.id).sort())
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'cancelled', pending: 1, cancelled: 2 })
      expect((await s.store.getBatch(batch.id))?.finishedAt).toBeUndefined()
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([])
      await settle(s.store, at(active, 0), 2500, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'cancelled', pending: 0, succeeded: 1, finishedAt: 2500 })
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([
        expect.objectContaining({ callbackOf: { group: 'batch', id: batch.id, on: 'settled' } }),
      ])
      expect(await callbackJobs(s.store, 'on-success')).toEqual([])
    })

    it('enqueues the settled callback at once when cancel({ batchId }) leaves nothing running', async () => {
      const { batch } = await start(2, 0)
      await s.store.cancel({ now: 2000, batchId: batch.id })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'cancelled', pending: 0, cancelled: 2, finishedAt: 2000 })
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
    })

    it('writes nothing of a batch one of whose members cannot be stored', async () => {
      const batch = newBatch([newJob(), newJob({ payload: uncloneable })], { callbacks })
      const err = await rejection(s.store.insert({ now: T0, jobs: [], batches: [batch] }))
      expect(err).toBeInstanceOf(SerializationError)
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
      expect(await s.store.listJobs({}, T0)).toEqual([])
    })

    it('lists its members in dispatch order, only its own', async () => {
      const a = newBatch(Array.from({ length: 5 }, () => newJob({ type: 'm' })))
      const b = newBatch(Array.from({ length: 3 }, () => newJob({ type: 'm' })))
      await s.store.insert({ now: T0, jobs: [newJob({ type: 'm' })], batches: [a, b] })
      await s.store.insert({ now: T0, jobs: [newJob({ type: 'm' })] })
      expect((await s.store.getBatch(a.id))?.jobIds).toEqual(a.jobs.map((j) => j.id))
      expect((await s.store.getBatch(b.id))?.jobIds).toEqual(b.jobs.map((j) => j.id))
    })

    // 2,000 members through a store that may be slow (IndexedDB in Node, a worker's OPFS): more than the default 5 s.
    it('settles a batch of 2,000 members with its counters right, one batch:progressed per transaction', { timeout: 30_000 }, async () => {
      const n = 2000
      const { batch } = await start(n, 0)
      const ids = batch.jobs.map((j) => j.id)
      let now = 1500
      for (let done = 0; done < n; ) {
        const claimed = (await claim(s.store, now, { types: ['m'], limit: 400 })).claimed
        expect(claimed).toHaveLength(400)
        const out = await s.store.settleAndClaim({
          now,
          settle: claimed.map((j, i) => ({ id: j.id, token: j.lease?.token ?? '', outcome: i % 100 === 7 ? { kind: 'skipped' as const } : { kind: 'succeeded' as const } })),
        })
        done += claimed.length
        expect(out.lost).toEqual([])
        const progressed = out.events.filter((e) => e.kind === 'batch:progressed')
        expect(progressed).toHaveLength(1)
        expect(progressed[0]).toMatchObject({ batchId: batch.id, state: { pending: n - done, succeeded: done, jobIds: ids } })
        const finished = out.events.filter((e) => e.kind === 'batch:completed')
        expect(finished).toHaveLength(done === n ? 1 : 0)
        now += 100
      }
      const b = await s.store.getBatch(batch.id)
      expect(b).toMatchObject({ state: 'succeeded', total: n, pending: 0, succeeded: n, failed: 0, cancelled: 0, finishedAt: now - 100 })
      expect(b?.jobIds).toEqual(ids)
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
    })

    it('fails at a failure among members settled together and cancels every member not started', async () => {
      const { batch, active } = await start(50, 10)
      const out = await s.store.settleAndClaim({
        now: 2000,
        settle: active.slice(0, 6).map((j, i) => ({
          id: j.id,
          token: j.lease?.token ?? '',
          outcome: i === 3 ? { kind: 'failed' as const, error: boom } : { kind: 'succeeded' as const },
        })),
      })
      expect(out.lost).toEqual([])
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 4, succeeded: 5, failed: 1, cancelled: 40 })
      expect(out.events.filter((e) => e.kind === 'batch:failed')).toHaveLength(1)
      const progressed = out.events.filter((e) => e.kind === 'batch:progressed')
      expect(progressed).toHaveLength(1)
      expect(progressed[0]).toMatchObject({ batchId: batch.id, state: { state: 'failed', pending: 4, cancelled: 40 } })
      expect(out.events.filter((e) => e.kind === 'job:cancelled')).toHaveLength(40)
      for (const j of active.slice(6)) expect((await mustGet(s.store, j.id)).state).toBe('active')
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
    })

    it('returns undefined for an unknown batch', async () => {
      expect(await s.store.getBatch('no-such-batch')).toBeUndefined()
    })
  })
}
