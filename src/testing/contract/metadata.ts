/**
 * What a job's record keeps about where it came from and what ran it: its metadata (`meta`),
 * the version that dispatched it (`dispatchedBy`) and the version that started its last attempt
 * (`processedBy`, written from `ClaimRequest.version`); `listJobs({ version })`; and the ready
 * time `job:started` tells (`readyAt`).
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import type { CallbackDraft, NewJob, StoredJob, StoredSchedule } from '../../core/store.js'
import type { QueueEvent } from '../../core/types.js'
import {
  LEASE,
  T0,
  boom,
  claim,
  claimOne,
  draft,
  insertJobs,
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

const META = { userId: 'u1', attemptBudget: 3, beta: true, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }

/** A callback draft that carries metadata and a version. */
function tagged(type: string, meta: Record<string, string | number | boolean>, dispatchedBy = '1.4.2'): CallbackDraft {
  return { ...draft(type), meta, dispatchedBy }
}

/** The `readyAt` of each `job:started` event, by job id. */
function readyAts(events: QueueEvent[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {}
  for (const e of events) if (e.kind === 'job:started') out[e.jobId] = e.readyAt
  return out
}

export function metadataContract(makeStore: MakeStore): void {
  describe('job metadata and versions', () => {
    const s = useStore(makeStore)

    it('keeps meta and dispatchedBy as inserted, shown by getJob and listJobs; a job without them has neither', async () => {
      const tagged = newJob({ meta: META, dispatchedBy: '1.4.2' })
      const plain = newJob()
      await insertJobs(s.store, [tagged, plain])
      const got = await mustGet(s.store, tagged.id)
      expect(got.meta).toEqual(META)
      expect(got.dispatchedBy).toBe('1.4.2')
      expect(got.processedBy).toBeUndefined()
      const bare = await mustGet(s.store, plain.id)
      expect('meta' in bare).toBe(false)
      expect('dispatchedBy' in bare).toBe(false)
      expect('processedBy' in bare).toBe(false)
      const listed = await s.store.listJobs({}, T0)
      expect(listed.map((j) => [j.id, j.meta, j.dispatchedBy])).toEqual([
        [tagged.id, META, '1.4.2'],
        [plain.id, undefined, undefined],
      ])
    })

    it('keeps meta and dispatchedBy through claims, retries and settlement', async () => {
      const j = newJob({ meta: META, dispatchedBy: '1.4.2' })
      await insertJobs(s.store, [j])
      const first = await claimOne(s.store, T0)
      expect(first).toMatchObject({ meta: META, dispatchedBy: '1.4.2' })
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'delayed', meta: META, dispatchedBy: '1.4.2' })
      const second = await claimOne(s.store, T0 + 5000)
      await settle(s.store, second, T0 + 5010, { kind: 'succeeded', result: 1 })
      expect(await mustGet(s.store, j.id)).toMatchObject({ state: 'succeeded', meta: META, dispatchedBy: '1.4.2' })
    })

    it("keeps a copy: changing the caller's meta object after insert, or a returned record's, changes nothing stored", async () => {
      const meta: Record<string, string | number | boolean> = { userId: 'u1' }
      const j = newJob({ meta })
      await insertJobs(s.store, [j])
      meta.userId = 'changed'
      const got = await mustGet(s.store, j.id)
      expect(got.meta).toEqual({ userId: 'u1' })
      ;(got.meta as Record<string, unknown>).userId = 'changed too'
      expect((await mustGet(s.store, j.id)).meta).toEqual({ userId: 'u1' })
    })

    it('refuses meta that is not a small object of plain values, or an empty dispatchedBy, with InvalidArgumentError, writing nothing', async () => {
      const bad: unknown[] = [{ nested: { a: 1 } }, ['a'], 'text', { n: Number.NaN }, { v: null }]
      for (const meta of bad) {
        const j = newJob({ meta: meta as NewJob['meta'] })
        const err = await rejection(s.store.insert({ now: T0, jobs: [newJob(), j] }))
        expect(err, JSON.stringify(meta)).toMatchObject({ name: 'InvalidArgumentError' })
      }
      const badDraft = newChain([newJob()], { success: { ...draft('cb'), meta: { deep: [1] } as unknown as NewJob['meta'] } })
      expect(await rejection(s.store.insert({ now: T0, jobs: [], chains: [badDraft] }))).toMatchObject({ name: 'InvalidArgumentError' })
      expect(await rejection(s.store.insert({ now: T0, jobs: [newJob({ dispatchedBy: '' })] }))).toMatchObject({ name: 'InvalidArgumentError' })
      expect(await rejection(claim(s.store, T0, { version: 7 as unknown as string }))).toMatchObject({ name: 'InvalidArgumentError' })
      const started = [{ id: 'x', token: 'tok', at: T0, version: '' }]
      expect(await rejection(s.store.settleAndClaim({ now: T0, settle: [], started }))).toMatchObject({ name: 'InvalidArgumentError' })
      expect(await s.store.listJobs({}, T0)).toEqual([])
    })

    it("keeps each chain step's and batch job's own meta and dispatchedBy", async () => {
      const chain = newChain([newJob({ type: 's1', meta: { step: 1 }, dispatchedBy: 'v1' }), newJob({ type: 's2', meta: { step: 2 }, dispatchedBy: 'v1' })])
      const batch = newBatch([newJob({ type: 'b', meta: { n: 'a' }, dispatchedBy: 'v2' }), newJob({ type: 'b' })])
      await s.store.insert({ now: T0, jobs: [], chains: [chain], batches: [batch] })
      const steps = await s.store.listJobs({ chainId: chain.id }, T0)
      expect(steps.map((j) => [j.meta, j.dispatchedBy])).toEqual([
        [{ step: 1 }, 'v1'],
        [{ step: 2 }, 'v1'],
      ])
      const members = await s.store.listJobs({ batchId: batch.id }, T0)
      expect(members.map((j) => [j.meta, j.dispatchedBy])).toEqual([
        [{ n: 'a' }, 'v2'],
        [undefined, undefined],
      ])
      // The second step keeps them when it is released.
      await run(s.store, T0, 's1')
      expect(await mustGet(s.store, chain.steps[1]!.id)).toMatchObject({ state: 'waiting', meta: { step: 2 }, dispatchedBy: 'v1' })
    })

    it("a chain's callback jobs carry their draft's meta and dispatchedBy", async () => {
      const chain = newChain([newJob({ type: 's1', meta: { userId: 'u1' } })], {
        success: tagged('on-success', { userId: 'u1', on: 'success' }),
        settled: tagged('on-settled', { userId: 'u1' }, '1.4.3'),
      })
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await run(s.store, T0 + 10, 's1')
      expect(await mustGet(s.store, `${chain.id}:success`)).toMatchObject({ type: 'on-success', meta: { userId: 'u1', on: 'success' }, dispatchedBy: '1.4.2' })
      expect(await mustGet(s.store, `${chain.id}:settled`)).toMatchObject({ type: 'on-settled', meta: { userId: 'u1' }, dispatchedBy: '1.4.3' })
    })

    it("a batch's callback jobs (progress, error, settled) carry their draft's meta and dispatchedBy", async () => {
      const batch = newBatch([newJob({ type: 'b1' }), newJob({ type: 'b2' })], {
        allowFailures: true,
        callbacks: {
          progress: tagged('on-progress', { kind: 'progress' }),
          error: tagged('on-error', { kind: 'error' }),
          settled: tagged('on-settled', { kind: 'settled' }),
        },
      })
      await s.store.insert({ now: T0, jobs: [], batches: [batch] })
      await run(s.store, T0 + 10, 'b1', { kind: 'failed', error: boom, unrecoverable: true })
      await run(s.store, T0 + 20, 'b2')
      expect(await mustGet(s.store, `${batch.id}:progress:1`)).toMatchObject({ meta: { kind: 'progress' }, dispatchedBy: '1.4.2' })
      expect(await mustGet(s.store, `${batch.id}:error`)).toMatchObject({ meta: { kind: 'error' }, dispatchedBy: '1.4.2', groupError: boom })
      expect(await mustGet(s.store, `${batch.id}:settled`)).toMatchObject({ meta: { kind: 'settled' }, dispatchedBy: '1.4.2' })
    })

    it("a schedule's occurrences carry its job's meta and dispatchedBy", async () => {
      const schedule: StoredSchedule = {
        name: 'nightly',
        when: { every: 60_000 },
        catchUp: 'once',
        job: tagged('t', { source: 'schedule' }, '2.0.0'),
        nextRunAt: T0 + 60_000,
        createdAt: T0,
        updatedAt: T0,
      }
      await s.store.putSchedule({ now: T0, schedule })
      const out = await claim(s.store, T0 + 60_000)
      expect(out.claimed).toHaveLength(1)
      expect(out.claimed[0]).toMatchObject({ id: `schedule:nightly:${T0 + 60_000}`, meta: { source: 'schedule' }, dispatchedBy: '2.0.0' })
    })

    it("writes the claim's version as processedBy on each job it leases; a job claimed ahead gets the version of the start", async () => {
      const [a, b] = await insertJobs(s.store, [newJob({ dispatchedBy: '1.0.0' }), newJob()])
      const out = await claim(s.store, T0, { limit: 1, ahead: 1, version: '1.4.2' })
      expect(out.claimed.map((j) => [j.id, j.processedBy, j.ahead === true])).toEqual([
        [a!.id, '1.4.2', false],
        [b!.id, undefined, true],
      ])
      expect(await mustGet(s.store, a!.id)).toMatchObject({ processedBy: '1.4.2', dispatchedBy: '1.0.0' })
      // Claimed ahead is not started: no version ran it yet.
      expect('processedBy' in (await mustGet(s.store, b!.id))).toBe(false)
      await s.store.settleAndClaim({ now: T0 + 5, settle: [], started: [{ id: b!.id, token: out.claimed[1]!.lease!.token, at: T0 + 5, version: '1.4.2' }] })
      expect(await mustGet(s.store, b!.id)).toMatchObject({ attempt: 1, processedBy: '1.4.2' })
    })

    it('a start without a version leaves processedBy as the last attempt left it', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      const first = await claimOne(s.store, T0, { version: 'v1' })
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      const ahead = await claim(s.store, T0 + 5000, { limit: 0, ahead: 1, token: 'tok', version: 'v2' })
      expect(ahead.claimed.map((j) => [j.id, j.processedBy])).toEqual([[a!.id, 'v1']])
      await s.store.settleAndClaim({ now: T0 + 5010, settle: [], started: [{ id: a!.id, token: 'tok', at: T0 + 5005 }] })
      expect(await mustGet(s.store, a!.id)).toMatchObject({ attempt: 2, processedBy: 'v1' })
    })

    it('a job claimed ahead and never started keeps the processedBy it had: released, cancelled, or taken over', async () => {
      const [ran, released, cancelled, taken] = await insertJobs(s.store, [newJob({ priority: 9 }), newJob({ priority: 3 }), newJob({ priority: 2 }), newJob({ priority: 1 })])
      // `ran` ran its attempt on v1 and failed; it is retried at T0 + 1010.
      const first = await claimOne(s.store, T0, { version: 'v1' })
      expect(first.id).toBe(ran!.id)
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      // An engine of v2 claims the four ahead and starts none of them.
      const held = await claim(s.store, T0 + 2000, { limit: 0, ahead: 4, token: 'tok', owner: 'engine-v2', version: 'v2', leaseUntil: T0 + 3000 })
      expect(held.claimed.map((j) => [j.id, j.processedBy])).toEqual([
        [ran!.id, 'v1'],
        [released!.id, undefined],
        [cancelled!.id, undefined],
        [taken!.id, undefined],
      ])
      expect(await s.store.listJobs({ version: 'v2' }, T0 + 2000)).toEqual([])
      await s.store.settleAndClaim({ now: T0 + 2010, settle: [{ id: released!.id, token: 'tok', outcome: { kind: 'deferred', runAt: T0 + 2010 } }] })
      await s.store.cancel({ now: T0 + 2020, jobIds: [cancelled!.id] })
      // Its lease ends: the rest go back, the cancelled one ends cancelled, and an engine
      // without a version takes `ran` again.
      const after = await claim(s.store, T0 + 3000, { limit: 1, owner: 'engine-2' })
      expect(after.claimed.map((j) => [j.id, j.attempt, j.processedBy])).toEqual([[ran!.id, 2, 'v1']])
      for (const j of [released!, taken!]) {
        const got = await mustGet(s.store, j.id)
        expect(got.state).toBe('waiting')
        expect('processedBy' in got).toBe(false)
      }
      const gone = await mustGet(s.store, cancelled!.id)
      expect(gone.state).toBe('cancelled')
      expect('processedBy' in gone).toBe(false)
      expect(await s.store.listJobs({ version: 'v2' }, T0 + 3000)).toEqual([])
      expect((await s.store.listJobs({ version: 'v1' }, T0 + 3000)).map((j) => j.id)).toEqual([ran!.id])
    })

    it('leaves processedBy alone when the claim has no version', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      const first = await claimOne(s.store, T0)
      expect('processedBy' in first).toBe(false)
      expect('processedBy' in (await mustGet(s.store, a!.id))).toBe(false)
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      const second = await claimOne(s.store, T0 + 5000, { version: '1.4.2' })
      expect(second.processedBy).toBe('1.4.2')
      await settle(s.store, second, T0 + 5010, { kind: 'failed', error: boom })
      // Retried again, by an engine that names no version: the last version that ran it stays.
      const third = await claimOne(s.store, T0 + 10_000)
      expect(third.processedBy).toBe('1.4.2')
      expect((await mustGet(s.store, a!.id)).processedBy).toBe('1.4.2')
    })

    it("replaces processedBy with the next claim's version after a retry, a takeover of an expired lease, and a release", async () => {
      const [a, b] = await insertJobs(s.store, [newJob(), newJob({ priority: -1 })])
      const first = await claimOne(s.store, T0, { version: 'v1' })
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      const retried = await claimOne(s.store, T0 + 5000, { version: 'v2', leaseUntil: T0 + 6000, types: ['t'], limit: 1 })
      expect(retried).toMatchObject({ id: a!.id, attempt: 2, processedBy: 'v2' })
      // Its lease ends: the engine that takes it over writes its own version.
      const taken = await claim(s.store, T0 + 6000, { version: 'v3', limit: 1 })
      expect(taken.claimed.map((j) => [j.id, j.attempt, j.processedBy])).toEqual([[a!.id, 3, 'v3']])
      expect((await mustGet(s.store, a!.id)).processedBy).toBe('v3')
      // Claimed ahead and released unstarted, then claimed by another version.
      const ahead = await claim(s.store, T0 + 6000, { version: 'v4', limit: 0, ahead: 1, token: 'tok' })
      expect(ahead.claimed.map((j) => [j.id, j.processedBy])).toEqual([[b!.id, undefined]])
      await s.store.settleAndClaim({ now: T0 + 6010, settle: [{ id: b!.id, token: 'tok', outcome: { kind: 'deferred', runAt: T0 + 6010 } }] })
      const again = await claim(s.store, T0 + 6020, { version: 'v5', limit: 1 })
      expect(again.claimed.map((j) => [j.id, j.processedBy])).toEqual([[b!.id, 'v5']])
    })
  })

  describe('listJobs by version', () => {
    const s = useStore(makeStore)

    /** a: dispatched by v1; b: by v2, run by v1; c: by v2; d: neither; e: by v1, of another type and queue. */
    async function fixture(): Promise<Record<'a' | 'b' | 'c' | 'd' | 'e', StoredJob>> {
      const [a, b, c, d, e] = await insertJobs(s.store, [
        newJob({ dispatchedBy: 'v1' }),
        newJob({ dispatchedBy: 'v2', priority: 5 }),
        newJob({ dispatchedBy: 'v2' }),
        newJob(),
        newJob({ dispatchedBy: 'v1', type: 'u', queue: 'q2' }),
      ])
      await claim(s.store, T0, { limit: 1, version: 'v1' })
      return { a: a!, b: b!, c: c!, d: d!, e: e! }
    }

    it('matches jobs dispatched by the version or whose last attempt ran on it, in dispatch order', async () => {
      const { a, b, c, e } = await fixture()
      expect((await mustGet(s.store, b.id)).processedBy).toBe('v1')
      expect((await s.store.listJobs({ version: 'v1' }, T0)).map((j) => j.id)).toEqual([a.id, b.id, e.id])
      expect((await s.store.listJobs({ version: 'v2' }, T0)).map((j) => j.id)).toEqual([b.id, c.id])
      expect(await s.store.listJobs({ version: 'v9' }, T0)).toEqual([])
    })

    it('combines with the state, type and queue filters', async () => {
      const { a, b, c, e } = await fixture()
      expect((await s.store.listJobs({ version: 'v1', state: 'active' }, T0)).map((j) => j.id)).toEqual([b.id])
      expect((await s.store.listJobs({ version: 'v1', state: 'waiting' }, T0)).map((j) => j.id)).toEqual([a.id, e.id])
      expect((await s.store.listJobs({ version: 'v2', state: ['waiting', 'active'] }, T0)).map((j) => j.id)).toEqual([b.id, c.id])
      expect((await s.store.listJobs({ version: 'v1', type: 'u' }, T0)).map((j) => j.id)).toEqual([e.id])
      expect((await s.store.listJobs({ version: 'v1', queue: ['default'] }, T0)).map((j) => j.id)).toEqual([a.id, b.id])
      expect(await s.store.listJobs({ version: 'v2', type: 'u' }, T0)).toEqual([])
    })

    it("combines with a batch's and a chain's filter", async () => {
      const batch = newBatch([newJob({ dispatchedBy: 'v1' }), newJob({ dispatchedBy: 'v2' }), newJob({ dispatchedBy: 'v1' })])
      const chain = newChain([newJob({ dispatchedBy: 'v2' }), newJob({ dispatchedBy: 'v1' })])
      await s.store.insert({ now: T0, jobs: [newJob({ dispatchedBy: 'v1' })], batches: [batch], chains: [chain] })
      expect((await s.store.listJobs({ version: 'v1', batchId: batch.id }, T0)).map((j) => j.id)).toEqual([batch.jobs[0]!.id, batch.jobs[2]!.id])
      expect((await s.store.listJobs({ version: 'v1', chainId: chain.id }, T0)).map((j) => j.id)).toEqual([chain.steps[1]!.id])
    })

    it('pages through the matches in dispatch order', async () => {
      const jobs = Array.from({ length: 7 }, (_, i) => newJob({ dispatchedBy: i % 2 === 0 ? 'v1' : 'v2' }))
      await insertJobs(s.store, jobs)
      const v1 = jobs.filter((_, i) => i % 2 === 0).map((j) => j.id)
      expect((await s.store.listJobs({ version: 'v1', limit: 2 }, T0)).map((j) => j.id)).toEqual(v1.slice(0, 2))
      expect((await s.store.listJobs({ version: 'v1', limit: 2, offset: 2 }, T0)).map((j) => j.id)).toEqual(v1.slice(2, 4))
      expect((await s.store.listJobs({ version: 'v1', limit: 2, offset: 4 }, T0)).map((j) => j.id)).toEqual([])
    })
  })

  describe('job:started readyAt', () => {
    const s = useStore(makeStore)

    it('is the later of runAt and the dispatch (createdAt), for claims, stalled jobs taken over and starts of jobs claimed ahead', async () => {
      const past = newJob({ runAt: T0 - 500 })
      const delayed = newJob({ runAt: 1500, priority: 1 })
      const aheadJob = newJob({ runAt: T0 + 100, priority: -1 })
      await insertJobs(s.store, [past, delayed, aheadJob])
      const out = await claim(s.store, 2000, { limit: 2, ahead: 1, token: 'tok', leaseUntil: 3000 })
      expect(readyAts(out.events)).toEqual({ [delayed.id]: 1500, [past.id]: T0 })
      const started = await s.store.settleAndClaim({ now: 2100, settle: [], started: [{ id: aheadJob.id, token: 'tok', at: 2050 }] })
      expect(readyAts(started.events)).toEqual({ [aheadJob.id]: T0 + 100 })
      // Leases end at 3000: each is taken over, and tells the same ready time.
      const taken = await claim(s.store, 3000, { owner: 'engine-2', leaseUntil: 3000 + LEASE })
      expect(readyAts(taken.events)).toEqual({ [delayed.id]: 1500, [past.id]: T0, [aheadJob.id]: T0 + 100 })
    })

    it('is the release time for a chain step released by the step before, with or without a delay', async () => {
      const chain = newChain([newJob({ type: 's1', runAt: T0 + 1000 }), newJob({ type: 's2' }), newJob({ type: 's3', delayMs: 300 })])
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await run(s.store, T0 + 5000, 's1')
      expect(await mustGet(s.store, chain.steps[1]!.id)).toMatchObject({ state: 'waiting', runAt: T0 + 5000 })
      const second = await claim(s.store, T0 + 6000, { types: ['s2'] })
      expect(readyAts(second.events)).toEqual({ [chain.steps[1]!.id]: T0 + 5000 })
      await settle(s.store, second.claimed[0]!, T0 + 7000, { kind: 'succeeded' })
      const third = await claim(s.store, T0 + 8000, { types: ['s3'] })
      expect(readyAts(third.events)).toEqual({ [chain.steps[2]!.id]: T0 + 7300 })
    })

    it('is the retry time for a retried job', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      const first = await claimOne(s.store, T0)
      await settle(s.store, first, T0 + 10, { kind: 'failed', error: boom })
      const retryAt = (await mustGet(s.store, a!.id)).runAt
      expect(retryAt).toBe(T0 + 1010)
      const out = await claim(s.store, T0 + 5000)
      expect(readyAts(out.events)).toEqual({ [a!.id]: retryAt })
    })
  })
}
