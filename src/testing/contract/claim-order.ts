/**
 * `ClaimRequest.order`: which ready jobs a claim takes first. `'priority'` (the default) takes
 * the highest priority, then the earliest `runAt`, then dispatch order; `'runAt'` takes the
 * earliest `runAt`, then the highest priority, then dispatch order. Both hold across every
 * queue and type of the claim's scope, for jobs claimed ahead too.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import type { ClaimOrder, NewChain, NewJob } from '../../core/store.js'
import { T0, boom, claim, insertJobs, mustGet, newJob, rejection, uid, useStore, type MakeStore } from './harness.js'

/** Every queue and type the jobs below use. */
const SCOPE = { queues: ['default', 'q2'], types: ['t', 'u'] }

/**
 * Jobs of two queues and two types, dispatched at T0 in this order (so this is their seq
 * order), of mixed priority and runAt; `delayed` comes due at 1500, before the claims at 2000.
 */
function mixed(): Record<string, NewJob> {
  return {
    late: newJob({ runAt: T0 + 500 }),
    early: newJob(),
    high: newJob({ priority: 5 }),
    otherQueue: newJob({ queue: 'q2' }),
    otherType: newJob({ type: 'u', priority: 1 }),
    past: newJob({ runAt: T0 - 200 }),
    low: newJob({ priority: -1, runAt: T0 - 100 }),
    delayed: newJob({ queue: 'q2', type: 'u', priority: 2, runAt: 1500 }),
    pastHigh: newJob({ type: 'u', priority: 3, runAt: T0 - 200 }),
  }
}

export function claimOrderContract(makeStore: MakeStore): void {
  describe('claim order', () => {
    const s = useStore(makeStore)
    const ids = (jobs: NewJob[]): string[] => jobs.map((j) => j.id)

    it("'priority' (the default): priority desc, then runAt, then dispatch order, across queues and types", async () => {
      const j = mixed()
      await insertJobs(s.store, Object.values(j))
      const expected = ids([j.high, j.pastHigh, j.delayed, j.otherType, j.past, j.early, j.otherQueue, j.late, j.low].map((x) => x!))
      const out = await claim(s.store, 2000, SCOPE)
      expect(out.claimed.map((x) => x.id)).toEqual(expected)
    })

    it("'priority' named is the default order", async () => {
      const j = mixed()
      await insertJobs(s.store, Object.values(j))
      const out = await claim(s.store, 2000, { ...SCOPE, order: 'priority' })
      expect(out.claimed.map((x) => x.id)).toEqual(ids([j.high, j.pastHigh, j.delayed, j.otherType, j.past, j.early, j.otherQueue, j.late, j.low].map((x) => x!)))
    })

    it("'runAt': the earliest runAt first, then priority desc, then dispatch order, across queues and types", async () => {
      const j = mixed()
      await insertJobs(s.store, Object.values(j))
      const out = await claim(s.store, 2000, { ...SCOPE, order: 'runAt' })
      expect(out.claimed.map((x) => x.id)).toEqual(
        ids([j.pastHigh, j.past, j.low, j.high, j.otherType, j.early, j.otherQueue, j.delayed, j.late].map((x) => x!)),
      )
    })

    it("'runAt' with a limit takes the first jobs of that order, and the next claim goes on from there", async () => {
      const j = mixed()
      await insertJobs(s.store, Object.values(j))
      const first = await claim(s.store, 2000, { ...SCOPE, order: 'runAt', limit: 3 })
      expect(first.claimed.map((x) => x.id)).toEqual(ids([j.pastHigh!, j.past!, j.low!]))
      const second = await claim(s.store, 2000, { ...SCOPE, order: 'runAt', limit: 2 })
      expect(second.claimed.map((x) => x.id)).toEqual(ids([j.high!, j.otherType!]))
      // The default order is read from its own index, which these claims kept up to date.
      const third = await claim(s.store, 2000, { ...SCOPE, limit: 2 })
      expect(third.claimed.map((x) => x.id)).toEqual(ids([j.delayed!, j.early!]))
    })

    it("claims ahead in the claim's order: the slots first, then the jobs claimed ahead", async () => {
      const j = mixed()
      await insertJobs(s.store, Object.values(j))
      const byRunAt = await claim(s.store, 2000, { ...SCOPE, order: 'runAt', limit: 2, ahead: 2 })
      expect(byRunAt.claimed.map((x) => [x.id, x.ahead === true])).toEqual([
        [j.pastHigh!.id, false],
        [j.past!.id, false],
        [j.low!.id, true],
        [j.high!.id, true],
      ])
      const byPriority = await claim(s.store, 2000, { ...SCOPE, limit: 1, ahead: 2 })
      expect(byPriority.claimed.map((x) => [x.id, x.ahead === true])).toEqual([
        [j.delayed!.id, false],
        [j.otherType!.id, true],
        [j.early!.id, true],
      ])
    })

    it("'runAt' orders a retried job by its new runAt, and a job released unstarted from an engine's buffer keeps its place", async () => {
      const [a, b, c] = await insertJobs(s.store, [newJob({ runAt: T0 - 300 }), newJob({ runAt: T0 - 200 }), newJob({ runAt: T0 - 100, priority: 9 })])
      const held = await claim(s.store, T0, { order: 'runAt', limit: 1, ahead: 1, token: 'tok' })
      expect(held.claimed.map((x) => x.id)).toEqual([a!.id, b!.id])
      // a fails and is retried at T0 + 1000 (its backoff); b is released unstarted.
      await s.store.settleAndClaim({
        now: T0 + 10,
        settle: [
          { id: a!.id, token: 'tok', outcome: { kind: 'failed', error: boom } },
          { id: b!.id, token: 'tok', outcome: { kind: 'deferred', runAt: T0 + 10 } },
        ],
      })
      expect(await mustGet(s.store, a!.id)).toMatchObject({ runAt: T0 + 1010 })
      const out = await claim(s.store, T0 + 2000, { order: 'runAt' })
      expect(out.claimed.map((x) => x.id)).toEqual([b!.id, c!.id, a!.id])
    })

    it('a chain step released by the step before is ordered from its release: after jobs that were ready before it', async () => {
      const chain: NewChain = { id: uid('chain'), steps: [newJob({ type: 'u' }), newJob()], callbacks: {} }
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      const waited = newJob({ runAt: T0 + 500 })
      await insertJobs(s.store, [waited], T0 + 500)
      const first = await claim(s.store, T0 + 1000, { types: ['u'], limit: 1 })
      await s.store.settleAndClaim({ now: T0 + 1000, settle: [{ id: first.claimed[0]!.id, token: first.claimed[0]!.lease!.token, outcome: { kind: 'succeeded' } }] })
      expect(await mustGet(s.store, chain.steps[1]!.id)).toMatchObject({ state: 'waiting', runAt: T0 + 1000 })
      const byRunAt = await claim(s.store, T0 + 2000, { order: 'runAt', limit: 1 })
      expect(byRunAt.claimed.map((x) => x.id)).toEqual([waited.id])
      const next = await claim(s.store, T0 + 2000, { order: 'runAt', limit: 1 })
      expect(next.claimed.map((x) => x.id)).toEqual([chain.steps[1]!.id])
    })

    it('refuses an unknown order with InvalidArgumentError, claiming nothing', async () => {
      const [a] = await insertJobs(s.store, [newJob()])
      const err = await rejection(claim(s.store, T0, { order: 'fifo' as ClaimOrder }))
      expect(err).toMatchObject({ name: 'InvalidArgumentError' })
      expect((await mustGet(s.store, a!.id)).state).toBe('waiting')
    })

    it("'runAt' claims only the claim's queues and types", async () => {
      const mine = newJob({ runAt: T0 - 10 })
      const otherType = newJob({ type: 'other', runAt: T0 - 500 })
      const otherQueue = newJob({ queue: 'other', runAt: T0 - 500 })
      await insertJobs(s.store, [mine, otherType, otherQueue])
      const out = await claim(s.store, T0, { order: 'runAt' })
      expect(out.claimed.map((x) => x.id)).toEqual([mine.id])
      expect((await mustGet(s.store, otherType.id)).state).toBe('waiting')
      expect((await mustGet(s.store, otherQueue.id)).state).toBe('waiting')
    })
  })
}
