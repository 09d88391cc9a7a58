/**
 * `Store.replayGroup`, where a store has it: a failed chain runs again from its failed step, a
 * failed batch's failed and cancelled members wait again, each in one transaction, and the
 * callbacks of the new run are enqueued once when it ends.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { defineStore, storeBackend } from '../../core/define-store.js'
import { NotFoundError, QueueError } from '../../core/errors.js'
import type { StoreTx } from '../../core/store-backend.js'
import type { NewBatch, NewChain, Store, StoredJob } from '../../core/store.js'
import type { BatchState } from '../../core/types.js'
import { T0, boom, claim, claimOne, draft, kinds, mustGet, newBatch, newChain, newJob, rejection, run, settle, useStore, type MakeStore } from './harness.js'

const callbacks = { success: draft('on-success'), error: draft('on-error'), settled: draft('on-settled') }

/** Every job and group the store holds, to show that a refused replay changed nothing. */
async function snapshot(store: Store, group: { chains?: string[]; batches?: string[] }): Promise<unknown> {
  return {
    jobs: await store.listJobs({ limit: 1000 }, T0),
    chains: await Promise.all((group.chains ?? []).map((id) => store.getChain(id))),
    batches: await Promise.all((group.batches ?? []).map((id) => store.getBatch(id))),
  }
}

/** The callback jobs of one kind the group enqueued, in dispatch order. */
async function callbackJobs(store: Store, type: string): Promise<StoredJob[]> {
  return store.listJobs({ type }, T0)
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

/**
 * The store's own backend, its write transactions failing at their `n`-th `putJob`: what a
 * write cut off half way (a full disk, a lost file) does. Undefined for a store not made with
 * `defineStore`. Closing the store closes the backend, so this one is never closed itself.
 */
function failingAtPut(store: Store, n: number): Store | undefined {
  const backend = storeBackend(store)
  if (!backend) return undefined
  const failing = (tx: StoreTx): StoreTx => {
    let puts = 0
    return new Proxy(tx, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown
        if (key !== 'putJob') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
        return (j: Parameters<StoreTx['putJob']>[0]) => (++puts === n ? Promise.reject(new Error('the disk went away')) : target.putJob(j))
      },
    })
  }
  return defineStore({
    write: <T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> => backend.write<T>((tx) => fn(failing(tx)), opts),
    read: (fn) => backend.read(fn),
    close: async () => {},
  })
}

async function invalidState(p: Promise<unknown>): Promise<void> {
  const err = await rejection(p)
  expect(err).toBeInstanceOf(QueueError)
  expect(err).toMatchObject({ code: 'INVALID_STATE' })
}

export function replayGroupContract(makeStore: MakeStore): void {
  describe('replayGroup (optional)', () => {
    const s = useStore(makeStore)
    const replay = (store: Store, now: number, group: 'chain' | 'batch', id: string) => {
      if (!store.replayGroup) throw new Error('storeContract: this store has no replayGroup')
      return store.replayGroup({ now, group, id })
    }

    /** A chain of steps s1, s2, s3 (one attempt each) whose s2 failed at 2000 after s1 gave { n: 1 }. */
    const failedChain = async (): Promise<NewChain> => {
      const chain = newChain(['s1', 's2', 's3'].map((type) => newJob({ type, maxAttempts: 1 })), callbacks)
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await run(s.store, 1500, 's1', { kind: 'succeeded', result: { n: 1 } })
      await run(s.store, 2000, 's2', { kind: 'failed', error: boom })
      return chain
    }
    const step = (chain: NewChain, i: number): string => chain.steps[i]?.id ?? ''

    it('runs a failed chain again from its failed step: that step waits anew, the later ones are blocked', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const chain = await failedChain()
      const out = await replay(s.store, 3000, 'chain', chain.id)
      expect(out.replayed).toBe(true)
      expect(kinds(out.events)).toEqual([`chain:started ${step(chain, 1)}`, `job:dispatched ${step(chain, 1)}`, `job:dispatched ${step(chain, 2)}`])
      const failed = await mustGet(s.store, step(chain, 1))
      expect(failed).toMatchObject({ state: 'waiting', attempt: 0, runAt: 3000, previousResult: { n: 1 } })
      for (const gone of ['error', 'finishedAt', 'startedAt', 'lease', 'result'] as const) expect(failed[gone]).toBeUndefined()
      const later = await mustGet(s.store, step(chain, 2))
      expect(later).toMatchObject({ state: 'blocked', attempt: 0 })
      expect(later.finishedAt).toBeUndefined()
      expect(await mustGet(s.store, step(chain, 0))).toMatchObject({ state: 'succeeded', result: { n: 1 } })
      const state = await s.store.getChain(chain.id)
      expect(state).toMatchObject({ state: 'running', current: 1 })
      expect(state?.finishedAt).toBeUndefined()
      expect(state?.steps.map((x) => x.state)).toEqual(['succeeded', 'waiting', 'blocked'])
    })

    it('releases the replayed step after its delayMs, as its chain released it before', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const chain = newChain([newJob({ type: 's1' }), newJob({ type: 's2', maxAttempts: 1, delayMs: 500 })], callbacks)
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await run(s.store, 1500, 's1')
      await run(s.store, 2000, 's2', { kind: 'failed', error: boom })
      await replay(s.store, 3000, 'chain', chain.id)
      expect(await mustGet(s.store, step(chain, 1))).toMatchObject({ state: 'delayed', runAt: 3500, attempt: 0 })
    })

    it('finishes a replayed chain and enqueues the callbacks of its new ending once', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const chain = await failedChain()
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
      await replay(s.store, 3000, 'chain', chain.id)
      const second = await run(s.store, 3500, 's2', { kind: 'succeeded', result: 2 })
      expect(second).toMatchObject({ state: 'succeeded', previousResult: { n: 1 }, result: 2 })
      expect(await mustGet(s.store, step(chain, 2))).toMatchObject({ state: 'waiting', previousResult: 2 })
      await run(s.store, 4000, 's3')
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'succeeded', finishedAt: 4000 })
      const of = (on: string) => ({ group: 'chain', id: chain.id, on })
      expect(await callbackJobs(s.store, 'on-success')).toEqual([expect.objectContaining({ state: 'waiting', callbackOf: of('success') })])
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([
        expect.objectContaining({ callbackOf: of('settled'), groupError: boom }),
        expect.objectContaining({ state: 'waiting', callbackOf: of('settled') }),
      ])
      expect((await callbackJobs(s.store, 'on-settled'))[1]?.groupError).toBeUndefined()
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
    })

    it('replays a chain that failed again after a replay, with callbacks once per ending', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const chain = await failedChain()
      await replay(s.store, 3000, 'chain', chain.id)
      const again = { name: 'Error', message: 'again' }
      await run(s.store, 3500, 's2', { kind: 'failed', error: again })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'failed', finishedAt: 3500, current: 1 })
      expect((await callbackJobs(s.store, 'on-error')).map((j) => j.groupError)).toEqual([boom, again])
      await replay(s.store, 4000, 'chain', chain.id)
      await run(s.store, 4500, 's2')
      await run(s.store, 5000, 's3')
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'succeeded' })
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(2)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(3)
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
      expect(new Set((await s.store.listJobs({ limit: 1000 }, T0)).map((j) => j.id)).size).toBe(3 + 2 + 3 + 1)
    })

    it('refuses a chain that is not failed, a replayed one included, changing nothing', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const running = newChain([newJob({ type: 'r1' }), newJob({ type: 'r2' })], callbacks)
      const done = newChain([newJob({ type: 'd1' })], callbacks)
      const cancelled = newChain([newJob({ type: 'c1' }), newJob({ type: 'c2' })], callbacks)
      await s.store.insert({ now: T0, jobs: [], chains: [running, done, cancelled] })
      await run(s.store, 1500, 'd1')
      await s.store.cancel({ now: 1500, jobIds: [cancelled.steps[0]?.id ?? ''] })
      const failed = await failedChain()
      await replay(s.store, 3000, 'chain', failed.id)
      const chains = [running.id, done.id, cancelled.id, failed.id]
      const before = await snapshot(s.store, { chains })
      for (const id of chains) await invalidState(replay(s.store, 3500, 'chain', id))
      expect(await snapshot(s.store, { chains })).toEqual(before)
    })

    it('keeps a replayed chain and batch from prune while they run again', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const chain = await failedChain()
      const batch = newBatch([newJob({ type: 'f', maxAttempts: 1 })], { callbacks })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      await run(s.store, 2000, 'f', { kind: 'failed', error: boom })
      await replay(s.store, 3000, 'chain', chain.id)
      await replay(s.store, 3000, 'batch', batch.id)
      await s.store.prune({ before: 10_000 })
      expect((await s.store.getChain(chain.id))?.steps.map((x) => x.state)).toEqual(['succeeded', 'waiting', 'blocked'])
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 1 })
      for (const j of [...chain.steps, ...batch.jobs]) await mustGet(s.store, j.id)
    })

    it('changes nothing when its write fails half way (stores made with defineStore)', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const broken = failingAtPut(s.store, 2)
      if (!broken?.replayGroup) return ctx.skip('this store was not made with defineStore')
      const chain = await failedChain()
      const { batch, active } = await start(3, 1)
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      const groups = { chains: [chain.id], batches: [batch.id] }
      const before = await snapshot(s.store, groups)
      expect(await rejection(broken.replayGroup({ now: 3000, group: 'chain', id: chain.id }))).toMatchObject({ message: 'the disk went away' })
      expect(await rejection(broken.replayGroup({ now: 3000, group: 'batch', id: batch.id }))).toMatchObject({ message: 'the disk went away' })
      expect(await snapshot(s.store, groups)).toEqual(before)
      await replay(s.store, 3000, 'chain', chain.id)
      await replay(s.store, 3000, 'batch', batch.id)
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'running' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 3 })
    })

    it('rejects an unknown chain or batch with NotFoundError', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      expect(await rejection(replay(s.store, T0, 'chain', 'no-such-chain'))).toBeInstanceOf(NotFoundError)
      expect(await rejection(replay(s.store, T0, 'batch', 'no-such-batch'))).toBeInstanceOf(NotFoundError)
      expect(await s.store.listJobs({}, T0)).toEqual([])
    })

    /** A batch of `n` members of type 'm' (one attempt each), the first `started` of them claimed. */
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

    it('puts a failed batch\'s failed and cancelled members back to waiting, its counters recounted', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(4, 2)
      await settle(s.store, at(active, 0), 1500, { kind: 'succeeded' })
      await settle(s.store, at(active, 1), 2000, { kind: 'failed', error: boom })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 1, failed: 1, cancelled: 2, finishedAt: 2000 })
      const out = await replay(s.store, 3000, 'batch', batch.id)
      const again = batch.jobs.slice(1).map((j) => j.id)
      expect(kinds(out.events)).toEqual(['batch:started', ...again.map((id) => `job:dispatched ${id}`)])
      expect(out.events[0]).toMatchObject({ batchId: batch.id, state: { state: 'running', pending: 3, succeeded: 1, failed: 0, cancelled: 0 } })
      for (const id of again) {
        const j = await mustGet(s.store, id)
        expect(j).toMatchObject({ state: 'waiting', attempt: 0, runAt: 3000, batchId: batch.id })
        for (const gone of ['error', 'finishedAt', 'startedAt', 'lease'] as const) expect(j[gone]).toBeUndefined()
      }
      const b = await consistentBatch(s.store, batch.id)
      expect(b).toMatchObject({ state: 'running', total: 4, pending: 3, succeeded: 1, failed: 0, cancelled: 0 })
      expect(b.finishedAt).toBeUndefined()
    })

    it('finishes a replayed batch and enqueues the callbacks of its new ending once', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(3, 1, { callbacks: { ...callbacks, progress: draft('on-progress') } })
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(1)
      await run(s.store, 2500, 'on-progress')
      await replay(s.store, 3000, 'batch', batch.id)
      const members = (await claim(s.store, 3000, { types: ['m'], limit: 10 })).claimed
      expect(members).toHaveLength(3)
      for (const [i, m] of members.entries()) await settle(s.store, m, 3100 + i, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', pending: 0, succeeded: 3, finishedAt: 3102 })
      const of = (on: string) => ({ group: 'batch', id: batch.id, on })
      expect(await callbackJobs(s.store, 'on-success')).toEqual([expect.objectContaining({ callbackOf: of('success') })])
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([
        expect.objectContaining({ callbackOf: of('settled'), groupError: boom }),
        expect.objectContaining({ state: 'waiting', callbackOf: of('settled') }),
      ])
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(1)
      expect((await callbackJobs(s.store, 'on-progress')).map((j) => j.state)).toEqual(['succeeded', 'waiting'])
    })

    it('replays a batch that failed again after a replay, with callbacks once per ending', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(2, 2)
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      await settle(s.store, at(active, 1), 2100, { kind: 'succeeded' })
      await replay(s.store, 3000, 'batch', batch.id)
      const again = { name: 'Error', message: 'again' }
      await settle(s.store, await claimOne(s.store, 3000, { types: ['m'] }), 3100, { kind: 'failed', error: again })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', failed: 1, succeeded: 1, finishedAt: 3100 })
      expect((await callbackJobs(s.store, 'on-error')).map((j) => j.groupError)).toEqual([boom, again])
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(2)
      await replay(s.store, 4000, 'batch', batch.id)
      await settle(s.store, await claimOne(s.store, 4000, { types: ['m'] }), 4100, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', succeeded: 2 })
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(3)
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-error')).toHaveLength(2)
    })

    it('refuses a failed batch while a member still runs, changing nothing; replays it once that member ended', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(3, 2)
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 1, failed: 1, cancelled: 1 })
      const before = await snapshot(s.store, { batches: [batch.id] })
      const err = await rejection(replay(s.store, 3000, 'batch', batch.id))
      expect(err).toBeInstanceOf(QueueError)
      expect(err).toMatchObject({ code: 'INVALID_STATE' })
      expect((err as Error).message).toContain('wait until its running jobs end')
      expect(await snapshot(s.store, { batches: [batch.id] })).toEqual(before)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(0)
      expect((await settle(s.store, at(active, 1), 3100, { kind: 'succeeded' })).lost).toEqual([])
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 1, finishedAt: 3100 })
      expect(await callbackJobs(s.store, 'on-settled')).toEqual([expect.objectContaining({ groupError: boom })])
      await replay(s.store, 3200, 'batch', batch.id)
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 2, succeeded: 1, failed: 0, cancelled: 0 })
      for (const m of (await claim(s.store, 3300, { types: ['m'], limit: 10 })).claimed) await settle(s.store, m, 3400, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', succeeded: 3 })
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(2)
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
    })

    it('refuses a failed batch while a member claimed ahead has not ended, started or not; replays it once it ended', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const batch = newBatch(Array.from({ length: 3 }, () => newJob({ type: 'm', maxAttempts: 1 })), { callbacks })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const [first, ahead] = (await claim(s.store, T0, { types: ['m'], limit: 1, ahead: 1 })).claimed
      if (!first || !ahead) throw new Error('storeContract: expected one claimed job and one claimed ahead')
      await settle(s.store, first, 2000, { kind: 'failed', error: boom })
      expect(await mustGet(s.store, ahead.id)).toMatchObject({ state: 'active', ahead: true, cancelRequested: true })
      const groups = { batches: [batch.id] }
      let before = await snapshot(s.store, groups)
      await invalidState(replay(s.store, 3000, 'batch', batch.id))
      expect(await snapshot(s.store, groups)).toEqual(before)
      // Its engine had started it: the start is told, the job still runs, still asked to stop.
      const told = await s.store.settleAndClaim({ now: 3100, started: [{ id: ahead.id, token: ahead.lease?.token ?? '', at: 3050 }], settle: [] })
      expect(told.lost).toEqual([])
      before = await snapshot(s.store, groups)
      await invalidState(replay(s.store, 3200, 'batch', batch.id))
      expect(await snapshot(s.store, groups)).toEqual(before)
      expect((await settle(s.store, ahead, 3300, { kind: 'cancelled' })).lost).toEqual([])
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0, failed: 1, cancelled: 2, finishedAt: 3300 })
      await replay(s.store, 4000, 'batch', batch.id)
      expect(await mustGet(s.store, ahead.id)).toMatchObject({ state: 'waiting', attempt: 0 })
      for (const m of (await claim(s.store, 4100, { types: ['m'], limit: 10 })).claimed) await settle(s.store, m, 4200, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', succeeded: 3, cancelled: 0 })
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(2)
    })

    it('refuses a batch that is not failed (running, succeeded, cancelled, replayed), changing nothing', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const running = await start(2, 0)
      const cancelled = newBatch([newJob({ type: 'c' })], { callbacks })
      const done = newBatch([newJob({ type: 'd' })], { callbacks })
      await s.store.insert({ now: T0, jobs: [], batches: [cancelled, done] })
      await s.store.cancel({ now: 1500, batchId: cancelled.id })
      await run(s.store, 1500, 'd')
      const failed = newBatch([newJob({ type: 'f', maxAttempts: 1 })], { callbacks })
      await s.store.insert({ now: T0, jobs: [], batches: [failed] })
      await run(s.store, 2000, 'f', { kind: 'failed', error: boom })
      await replay(s.store, 3000, 'batch', failed.id)
      const batches = [running.batch.id, cancelled.id, done.id, failed.id]
      const before = await snapshot(s.store, { batches })
      for (const id of batches) await invalidState(replay(s.store, 3500, 'batch', id))
      expect(await snapshot(s.store, { batches })).toEqual(before)
    })

    it('replays a batch with allowFailures that ended failed', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(2, 2, { allowFailures: true })
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      await settle(s.store, at(active, 1), 2100, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'failed', pending: 0 })
      await replay(s.store, 3000, 'batch', batch.id)
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'running', pending: 1, succeeded: 1 })
      await settle(s.store, await claimOne(s.store, 3000, { types: ['m'] }), 3100, { kind: 'succeeded' })
      expect(await consistentBatch(s.store, batch.id)).toMatchObject({ state: 'succeeded', succeeded: 2 })
      expect(await callbackJobs(s.store, 'on-success')).toHaveLength(1)
      expect(await callbackJobs(s.store, 'on-settled')).toHaveLength(2)
    })
    it('refuses a failed chain or batch some of whose jobs retention already deleted, changing nothing', async (ctx) => {
      if (!s.store.replayGroup) return ctx.skip('this store has no replayGroup')
      const { batch, active } = await start(5, 5, { callbacks: {}, allowFailures: true })
      await settle(s.store, at(active, 0), 2000, { kind: 'failed', error: boom })
      for (const j of active.slice(1)) await settle(s.store, j, 2010, { kind: 'succeeded' })
      const chain = newChain(['h1', 'h2', 'h3', 'h4'].map((type) => newJob({ type, queue: 'other', maxAttempts: 1 })))
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await settle(s.store, await claimOne(s.store, 2020, { types: ['h1'], queues: ['other'] }), 2020, { kind: 'succeeded' })
      await settle(s.store, await claimOne(s.store, 2030, { types: ['h2'], queues: ['other'] }), 2030, { kind: 'failed', error: boom })
      const keep = { failed: { count: 0 } }
      // A slice smaller than each group deletes part of it: the rest waits for the next slice.
      expect((await s.store.settleAndClaim({ now: 9000, settle: [], retain: { keep, limit: 3, queues: ['default'] } })).retained).toEqual({ deleted: 3, more: true })
      expect((await s.store.settleAndClaim({ now: 9000, settle: [], retain: { keep, limit: 2, queues: ['other'] } })).retained).toEqual({ deleted: 2, more: true })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'failed', total: 5 })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'failed' })
      const before = await snapshot(s.store, { chains: [chain.id], batches: [batch.id] })
      await invalidState(replay(s.store, 9500, 'batch', batch.id))
      await invalidState(replay(s.store, 9500, 'chain', chain.id))
      expect(await snapshot(s.store, { chains: [chain.id], batches: [batch.id] })).toEqual(before)
    })
  })
}
