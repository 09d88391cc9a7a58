/**
 * Retention (`SettleAndClaimInput.retain`): the newest `count` of a finished state kept, none
 * older than `ageMs`, chains and batches kept while they run and deleted whole once finished, and
 * each slice bounded by its `limit`. For stores made with `defineStore`, also the backend's
 * `finished` read that retention is answered from.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { storeBackend } from '../../core/define-store.js'
import type { Retention } from '../../core/retention.js'
import type { StoreBackend } from '../../core/store-backend.js'
import type { SettleAndClaimOutcome, Store, StoredJob } from '../../core/store.js'
import type { FinishedState } from '../../core/types.js'
import { T0, boom, claim, claimOne, draft, mustGet, newBatch, newChain, newJob, settle, uid, useStore, type MakeStore } from './harness.js'

/**
 * Finishes one new job in `state` at each of `times`, in order, and returns their ids: each is
 * claimed and settled (succeeded, or failed for good) or cancelled while it waits, at its time.
 */
async function finishAt(store: Store, state: FinishedState, times: number[], o: { queue?: string; uniqueUntil?: number } = {}): Promise<string[]> {
  const type = uid('type')
  const queue = o.queue ?? 'default'
  const jobs = times.map(() => newJob({ type, queue, ...(o.uniqueUntil !== undefined ? { uniqueKey: uid('key'), uniqueUntil: o.uniqueUntil } : {}) }))
  await store.insert({ now: T0, jobs })
  for (const [i, at] of times.entries()) {
    const id = (jobs[i] as { id: string }).id
    if (state === 'cancelled') {
      await store.cancel({ now: at, jobIds: [id] })
      continue
    }
    const j = await claimOne(store, at, { types: [type], queues: [queue] })
    expect(j.id).toBe(id)
    await settle(store, j, at, state === 'succeeded' ? { kind: 'succeeded' } : { kind: 'failed', error: boom, unrecoverable: true })
  }
  return jobs.map((j) => j.id)
}

function retain(store: Store, now: number, keep: Retention, limit = 100, queues = ['default']): Promise<SettleAndClaimOutcome> {
  return store.settleAndClaim({ now, settle: [], retain: { keep, limit, queues } })
}

async function present(store: Store, ids: string[]): Promise<string[]> {
  const found = await Promise.all(ids.map((id) => store.getJob(id)))
  return ids.filter((_, i) => found[i] !== undefined)
}

const times = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i * 10)

export function retentionContract(makeStore: MakeStore): void {
  describe('retention', () => {
    const s = useStore(makeStore)

    it('keeps the newest count of each finished state and leaves the other states alone', async () => {
      const succeeded = await finishAt(s.store, 'succeeded', times(2000, 5))
      const failed = await finishAt(s.store, 'failed', times(2000, 3))
      const cancelled = await finishAt(s.store, 'cancelled', times(2000, 4))
      const waiting = newJob()
      await s.store.insert({ now: T0, jobs: [waiting] })
      const out = await retain(s.store, 5000, { succeeded: { count: 2 }, cancelled: { count: 0 } })
      expect(out.retained).toEqual({ deleted: 3 + 4, more: false })
      expect(await present(s.store, succeeded)).toEqual(succeeded.slice(3))
      expect(await present(s.store, failed)).toEqual(failed)
      expect(await present(s.store, cancelled)).toEqual([])
      expect(await s.store.getJob(waiting.id)).toMatchObject({ state: 'waiting' })
      // Nothing more to do: the next slice deletes nothing.
      expect((await retain(s.store, 5000, { succeeded: { count: 2 }, cancelled: { count: 0 } })).retained).toEqual({ deleted: 0, more: false })
    })

    it('deletes the jobs that finished longer ago than ageMs, and keeps one that finished exactly then', async () => {
      const failed = await finishAt(s.store, 'failed', [2000, 2500, 3000, 3500])
      const succeeded = await finishAt(s.store, 'succeeded', [2000])
      const out = await retain(s.store, 4000, { failed: { ageMs: 1000 } })
      expect(out.retained).toEqual({ deleted: 2, more: false })
      expect(await present(s.store, failed)).toEqual(failed.slice(2))
      expect(await present(s.store, succeeded)).toEqual(succeeded)
    })

    it('with count and ageMs, deletes what either one does not keep', async () => {
      const ids = await finishAt(s.store, 'succeeded', times(2000, 6))
      // Kept by count: the newest 4 (2020..2050); by age at 2100 with 75 ms: 2030 on. Kept by both: 2030..2050.
      const out = await retain(s.store, 2100, { succeeded: { count: 4, ageMs: 75 } })
      expect(out.retained).toEqual({ deleted: 3, more: false })
      expect(await present(s.store, ids)).toEqual(ids.slice(3))
      const fewer = await retain(s.store, 2100, { succeeded: { count: 1, ageMs: 75 } })
      expect(fewer.retained).toEqual({ deleted: 2, more: false })
      expect(await present(s.store, ids)).toEqual(ids.slice(5))
    })

    it('keeps the finished steps of a running chain, and deletes the chain with all its jobs once it finished', async () => {
      const chain = newChain([newJob({ type: 'step-1' }), newJob({ type: 'step-2' })])
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      const first = await claimOne(s.store, 2000, { types: ['step-1'] })
      await settle(s.store, first, 2000, { kind: 'succeeded' })
      const keepNone: Retention = { succeeded: { count: 0 }, failed: { count: 0 }, cancelled: { count: 0 } }
      expect((await retain(s.store, 9000, keepNone)).retained).toEqual({ deleted: 0, more: false })
      expect(await s.store.getJob(first.id)).toMatchObject({ state: 'succeeded' })
      const second = await claimOne(s.store, 3000, { types: ['step-2'] })
      await settle(s.store, second, 3000, { kind: 'failed', error: boom, unrecoverable: true })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'failed' })
      // The failed rule alone selects the failed step: the chain goes with its succeeded step too.
      const out = await retain(s.store, 9000, { failed: { count: 0 } })
      expect(out.retained).toEqual({ deleted: 2, more: false })
      expect(await s.store.getChain(chain.id)).toBeUndefined()
      expect(await present(s.store, [first.id, second.id])).toEqual([])
    })

    it('keeps a batch while a member runs, and deletes it with every member once it finished', async () => {
      const batch = newBatch([newJob({ type: 'm' }), newJob({ type: 'm' }), newJob({ type: 'm' })], { allowFailures: true })
      const single = newJob({ type: 'single' })
      await s.store.insert({ now: T0, jobs: [single], batches: [batch] })
      const [a, b, c] = (await claim(s.store, 2000, { types: ['m'], limit: 3 })).claimed as [StoredJob, StoredJob, StoredJob]
      await settle(s.store, a, 2000, { kind: 'succeeded' })
      await settle(s.store, b, 2010, { kind: 'failed', error: boom, unrecoverable: true })
      const lone = await claimOne(s.store, 2020, { types: ['single'] })
      await settle(s.store, lone, 2020, { kind: 'succeeded' })
      const keep: Retention = { succeeded: { count: 0 } }
      // The single job goes; the batch's succeeded member is passed over: `c` still runs.
      expect((await retain(s.store, 9000, keep)).retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, [a.id, b.id, c.id, single.id])).toEqual([a.id, b.id, c.id])
      await settle(s.store, c, 3000, { kind: 'succeeded' })
      const done = (await s.store.getBatch(batch.id))?.state
      expect(done).not.toBe('running')
      // Its own state selects it, whichever that is.
      expect((await retain(s.store, 9000, { [done as FinishedState]: { count: 0 } })).retained).toEqual({ deleted: 3, more: false })
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
      expect(await present(s.store, [a.id, b.id, c.id])).toEqual([])
    })

    it('deletes at most limit jobs per slice and says whether more are due', async () => {
      const ids = await insertFinished(s.store, 25)
      const keep: Retention = { succeeded: { count: 3 } }
      const slices: (SettleAndClaimOutcome['retained'])[] = []
      for (let i = 0; i < 4; i++) slices.push((await retain(s.store, 9000, keep, 10)).retained)
      expect(slices).toEqual([
        { deleted: 10, more: true },
        { deleted: 10, more: true },
        { deleted: 2, more: false },
        { deleted: 0, more: false },
      ])
      expect(await present(s.store, ids)).toEqual(ids.slice(22))
    })

    it('deletes a finished group larger than the limit over several slices, its members first and its record last', async () => {
      const earlier = await finishAt(s.store, 'succeeded', [1500, 1600])
      const batch = newBatch(Array.from({ length: 5 }, () => newJob({ type: 'm' })))
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const members = (await claim(s.store, 2000, { types: ['m'], limit: 5 })).claimed
      for (const j of members) await settle(s.store, j, 2000, { kind: 'succeeded' })
      const ids = members.map((j) => j.id)
      const keep: Retention = { succeeded: { count: 0 } }
      // The two older single jobs first, then one member: every slice stays within its limit.
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 3, more: true })
      expect(await present(s.store, earlier)).toEqual([])
      expect(await present(s.store, ids)).toHaveLength(4)
      expect(await s.store.getBatch(batch.id)).toBeDefined()
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 3, more: true })
      expect(await s.store.getBatch(batch.id)).toBeDefined()
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, ids)).toEqual([])
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
    })

    it('deletes a finished chain longer than the limit over several slices, its record last', async () => {
      const chain = newChain(Array.from({ length: 4 }, () => newJob({ type: 'step' })))
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      for (let i = 0; i < 4; i++) await settle(s.store, await claimOne(s.store, 2000 + i * 10, { types: ['step'] }), 2000 + i * 10, { kind: 'succeeded' })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'succeeded' })
      const keep: Retention = { succeeded: { count: 0 } }
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 3, more: true })
      expect(await s.store.getChain(chain.id)).toBeDefined()
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 1, more: false })
      expect(await s.store.getChain(chain.id)).toBeUndefined()
    })

    it('deletes a group larger than the limit from its members in other states first, so its own state selects it until the record goes', async () => {
      const batch = newBatch(Array.from({ length: 5 }, () => newJob({ type: 'm' })), { allowFailures: true })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const [first, ...rest] = (await claim(s.store, 2000, { types: ['m'], limit: 5 })).claimed as [StoredJob, ...StoredJob[]]
      await settle(s.store, first, 2000, { kind: 'failed', error: boom, unrecoverable: true })
      for (const j of rest) await settle(s.store, j, 2010, { kind: 'succeeded' })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'failed', pending: 0 })
      const ids = [first.id, ...rest.map((j) => j.id)]
      const keep: Retention = { failed: { count: 0 } }
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 3, more: true })
      expect(await present(s.store, [first.id])).toEqual([first.id])
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 2, more: false })
      expect(await present(s.store, ids)).toEqual([])
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
    })

    it('deletes a failed chain longer than the limit from its cancelled steps first, its failed step and record last', async () => {
      const chain = newChain(Array.from({ length: 4 }, () => newJob({ type: 'step', maxAttempts: 1 })))
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await settle(s.store, await claimOne(s.store, 2000, { types: ['step'] }), 2000, { kind: 'failed', error: boom, unrecoverable: true })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'failed' })
      const ids = chain.steps.map((j) => j.id)
      const keep: Retention = { failed: { count: 0 } }
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 3, more: true })
      expect(await present(s.store, ids)).toEqual(ids.slice(0, 1))
      expect((await retain(s.store, 9000, keep, 3)).retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, ids)).toEqual([])
      expect(await s.store.getChain(chain.id)).toBeUndefined()
    })

    it('deletes the oldest jobs beyond count first', async () => {
      const ids = await finishAt(s.store, 'succeeded', times(2000, 6))
      expect((await retain(s.store, 9000, { succeeded: { count: 2 } }, 2)).retained).toEqual({ deleted: 2, more: true })
      expect(await present(s.store, ids)).toEqual(ids.slice(2))
      expect((await retain(s.store, 9000, { succeeded: { count: 2 } }, 2)).retained).toEqual({ deleted: 2, more: true })
      expect((await retain(s.store, 9000, { succeeded: { count: 2 } }, 2)).retained).toEqual({ deleted: 0, more: false })
      expect(await present(s.store, ids)).toEqual(ids.slice(4))
    })

    it('deletes only finished jobs of the queues it is given, and counts each queue on its own', async () => {
      const mine = await finishAt(s.store, 'succeeded', times(2000, 3), { queue: 'mine' })
      const other = await finishAt(s.store, 'succeeded', times(2000, 3), { queue: 'other' })
      const dflt = await finishAt(s.store, 'succeeded', times(2100, 3))
      expect((await retain(s.store, 9000, { succeeded: { count: 1 } }, 100, ['mine', 'default'])).retained).toEqual({ deleted: 4, more: false })
      expect(await present(s.store, mine)).toEqual(mine.slice(2))
      expect(await present(s.store, dflt)).toEqual(dflt.slice(2))
      expect(await present(s.store, other)).toEqual(other)
    })

    it('keeps a job whose unique key still holds', async () => {
      const held = await finishAt(s.store, 'succeeded', [2000], { uniqueUntil: 10_000 })
      const lapsed = await finishAt(s.store, 'succeeded', [2000], { uniqueUntil: 8000 })
      expect((await retain(s.store, 9000, { succeeded: { count: 0 } })).retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, [...held, ...lapsed])).toEqual(held)
      expect((await retain(s.store, 10_001, { succeeded: { count: 0 } })).retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, held)).toEqual([])
    })

    it('keeps a finished group while one of its callback jobs waits or runs', async () => {
      const batch = newBatch([newJob({ type: 'm' })], { callbacks: { settled: draft('t') } })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const m = await claimOne(s.store, 2000, { types: ['m'] })
      await settle(s.store, m, 2000, { kind: 'succeeded' })
      const cb = await mustGet(s.store, `${batch.id}:settled`)
      expect(cb.state).toBe('waiting')
      const keep: Retention = { succeeded: { count: 0 } }
      expect((await retain(s.store, 9000, keep)).retained).toEqual({ deleted: 0, more: false })
      const running = await claimOne(s.store, 3000, { types: ['t'] })
      expect(running.id).toBe(cb.id)
      expect((await retain(s.store, 9000, keep)).retained).toEqual({ deleted: 0, more: false })
      expect(await s.store.getBatch(batch.id)).toBeDefined()
      await settle(s.store, running, 3000, { kind: 'succeeded' })
      expect((await retain(s.store, 9000, keep)).retained).toEqual({ deleted: 2, more: false })
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
    })

    it('judges a finished group by its own state: members in another state do not select it', async () => {
      const batch = newBatch([newJob({ type: 'm' }), newJob({ type: 'm' })])
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      const [a, b] = (await claim(s.store, 2000, { types: ['m'], limit: 2 })).claimed as [StoredJob, StoredJob]
      await settle(s.store, a, 2000, { kind: 'succeeded' })
      await settle(s.store, b, 2010, { kind: 'failed', error: boom, unrecoverable: true })
      expect(await s.store.getBatch(batch.id)).toMatchObject({ state: 'failed' })
      expect((await retain(s.store, 9000, { succeeded: { count: 0 } })).retained).toEqual({ deleted: 0, more: false })
      expect(await present(s.store, [a.id, b.id])).toEqual([a.id, b.id])
      expect((await retain(s.store, 9000, { failed: { count: 0 } })).retained).toEqual({ deleted: 2, more: false })
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
    })

    it('never deletes a job in the call that finished it', async () => {
      const [old] = await finishAt(s.store, 'succeeded', [2000])
      await s.store.insert({ now: T0, jobs: [newJob()] })
      const j = await claimOne(s.store, 2100)
      const out = await s.store.settleAndClaim({
        now: 2200,
        settle: [{ id: j.id, token: j.lease?.token ?? '', outcome: { kind: 'succeeded' } }],
        retain: { keep: { succeeded: { count: 0 } }, limit: 100, queues: ['default'] },
      })
      expect(out.retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, [old as string, j.id])).toEqual([j.id])
    })

    it('applies its slice after the settlements of the same call', async () => {
      const [old] = await finishAt(s.store, 'succeeded', [2000])
      await s.store.insert({ now: T0, jobs: [newJob()] })
      const j = await claimOne(s.store, 2050)
      const out = await s.store.settleAndClaim({
        now: 2100,
        settle: [{ id: j.id, token: j.lease?.token ?? '', outcome: { kind: 'succeeded' } }],
        retain: { keep: { succeeded: { count: 1 } }, limit: 100, queues: ['default'] },
      })
      // The job settled here counts among the newest: the older one is beyond count.
      expect(out.retained).toEqual({ deleted: 1, more: false })
      expect(await present(s.store, [old as string, j.id])).toEqual([j.id])
    })
  })

  describe('retention: the backend read (stores made with defineStore)', () => {
    const s = useStore(makeStore)
    const backend = (skip: (why: string) => void): StoreBackend => {
      const b = storeBackend(s.store)
      if (!b) skip('this store was not made with defineStore')
      return b as StoreBackend
    }

    it('finished(queue, state) reads the jobs of one queue and state in the order they finished, from either end, by before, offset and limit', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      // Finished out of dispatch order: the order is finishedAt's, then seq's.
      const ids = await finishAt(s.store, 'succeeded', [3000, 2000, 2000, 4000, 1500])
      await finishAt(s.store, 'failed', [1000])
      await finishAt(s.store, 'succeeded', [1000], { queue: 'other' })
      const order = [ids[4], ids[1], ids[2], ids[0], ids[3]]
      const [counted, all, newest, before, skipped, none] = await b.read((tx) =>
        Promise.all([
          Promise.all([tx.finishedCount('default', 'succeeded'), tx.finishedCount('other', 'succeeded'), tx.finishedCount('default', 'cancelled')]),
          tx.finished('default', 'succeeded', { limit: 100 }),
          tx.finished('default', 'succeeded', { newest: true, offset: 1, limit: 2 }),
          tx.finished('default', 'succeeded', { before: 3000, limit: 100 }),
          tx.finished('default', 'succeeded', { before: 3000, offset: 1, limit: 1 }),
          tx.finished('default', 'cancelled', { limit: 100 }),
        ]),
      )
      const idsOf = (list: StoredJob[]): string[] => list.map((j) => j.id)
      expect(counted).toEqual([5, 1, 0])
      expect(idsOf(all)).toEqual(order)
      expect(idsOf(newest)).toEqual([order[3], order[2]])
      expect(idsOf(before)).toEqual(order.slice(0, 3))
      expect(idsOf(skipped)).toEqual([order[1]])
      expect(none).toEqual([])
    })

    it('deletes a finished group whose jobs in its own state are already gone whole, selected by any job left', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const batch = newBatch(Array.from({ length: 3 }, () => newJob({ type: 'm' })), { allowFailures: true })
      const chain = newChain(Array.from({ length: 3 }, () => newJob({ type: 'step', maxAttempts: 1 })))
      await s.store.insert({ now: T0, jobs: [], batches: [batch], chains: [chain] })
      const [first, ...rest] = (await claim(s.store, 2000, { types: ['m'], limit: 3 })).claimed as [StoredJob, ...StoredJob[]]
      await settle(s.store, first, 2000, { kind: 'failed', error: boom, unrecoverable: true })
      for (const j of rest) await settle(s.store, j, 2010, { kind: 'succeeded' })
      const step = await claimOne(s.store, 2020, { types: ['step'] })
      await settle(s.store, step, 2020, { kind: 'failed', error: boom, unrecoverable: true })
      // Left so by a slice that deleted its failed jobs first.
      await b.write((tx) => Promise.all([tx.deleteJob(first.id), tx.deleteJob(step.id)]))
      expect((await retain(s.store, 9000, { succeeded: { count: 0 }, cancelled: { count: 0 } })).retained).toEqual({ deleted: 4, more: false })
      expect(await present(s.store, [...rest.map((j) => j.id), ...chain.steps.map((j) => j.id)])).toEqual([])
      expect(await s.store.getBatch(batch.id)).toBeUndefined()
      expect(await s.store.getChain(chain.id)).toBeUndefined()
    })

    it('finished(queue, state) leaves out a job replayed since it finished', async (ctx) => {
      const b = backend((why) => ctx.skip(why))
      const [id] = await finishAt(s.store, 'failed', [2000])
      await s.store.replay({ now: 2500, id: id as string })
      expect(await b.read((tx) => tx.finished('default', 'failed', { limit: 100 }))).toEqual([])
    })
  })
}

/** `n` single jobs succeeded one after another from 2000 on. */
async function insertFinished(store: Store, n: number): Promise<string[]> {
  return finishAt(store, 'succeeded', times(2000, n))
}
