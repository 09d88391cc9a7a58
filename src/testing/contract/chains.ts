/**
 * Chains: steps released one after another, in the transaction that finishes the step before.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { SerializationError } from '../../core/errors.js'
import type { NewChain } from '../../core/store.js'
import { T0, boom, claim, claimOne, draft, mustGet, newChain, newJob, rejection, run, uncloneable, useStore, type MakeStore } from './harness.js'

const callbacks: NewChain['callbacks'] = { success: draft('on-success'), error: draft('on-error'), settled: draft('on-settled') }

export function chainContract(makeStore: MakeStore): void {
  describe('chains', () => {
    const s = useStore(makeStore)
    /** A chain of steps of types s1, s2, ... so each claim can take one step by its type. */
    const insertChain = async (n: number, o: { maxAttempts?: number } = {}): Promise<NewChain> => {
      const chain = newChain(Array.from({ length: n }, (_, i) => newJob({ type: `s${i + 1}`, ...o })), callbacks)
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      return chain
    }
    const stepIds = (c: NewChain): string[] => c.steps.map((j) => j.id)

    it('writes the first step waiting and the later ones blocked', async () => {
      const chain = newChain([newJob({ type: 's1' }), newJob({ type: 's2' }), newJob({ type: 's3' })])
      const out = await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      const [a, b, c] = await Promise.all(stepIds(chain).map((id) => mustGet(s.store, id)))
      expect(a).toMatchObject({ state: 'waiting', chainId: chain.id, attempt: 0 })
      expect(b).toMatchObject({ state: 'blocked', chainId: chain.id })
      expect(c).toMatchObject({ state: 'blocked', chainId: chain.id })
      const dispatched = out.events.filter((e) => e.kind === 'job:dispatched')
      expect(dispatched.map((e) => [e.jobId, e.chainId])).toEqual(stepIds(chain).map((id) => [id, chain.id]))
      expect(await s.store.getChain(chain.id)).toEqual({
        id: chain.id,
        state: 'running',
        current: 0,
        createdAt: T0,
        steps: [
          { jobId: a?.id, type: 's1', state: 'waiting' },
          { jobId: b?.id, type: 's2', state: 'blocked' },
          { jobId: c?.id, type: 's3', state: 'blocked' },
        ],
      })
    })

    it('does not claim a blocked step', async () => {
      await insertChain(2)
      expect((await claim(s.store, T0, { types: ['s2'] })).claimed).toEqual([])
    })

    it('releases the next step with the result, in the same call that can claim it', async () => {
      const chain = await insertChain(3)
      const first = await claimOne(s.store, T0, { types: ['s1'] })
      const out = await s.store.settleAndClaim({
        now: 1500,
        settle: [{ id: first.id, token: first.lease?.token ?? '', outcome: { kind: 'succeeded', result: { n: 1 } } }],
        claim: { owner: 'engine-1', token: 'tok-2', queues: ['default'], types: ['s2'], limit: 5, leaseUntil: 9000 },
      })
      expect(out.claimed).toEqual([expect.objectContaining({ id: chain.steps[1]?.id, state: 'active', attempt: 1, previousResult: { n: 1 } })])
      const state = await s.store.getChain(chain.id)
      expect(state).toMatchObject({ state: 'running', current: 1 })
      expect(state?.steps.map((x) => x.state)).toEqual(['succeeded', 'active', 'blocked'])
    })

    it('delays a released step by its delayMs', async () => {
      const chain = newChain([newJob({ type: 's1' }), newJob({ type: 's2', delayMs: 500 })])
      await s.store.insert({ now: T0, jobs: [], chains: [chain] })
      await run(s.store, 2000, 's1')
      expect(await mustGet(s.store, chain.steps[1]?.id ?? '')).toMatchObject({ state: 'delayed', runAt: 2500 })
    })

    it('succeeds after the last step and enqueues the success and settled callbacks', async () => {
      const chain = await insertChain(2)
      await run(s.store, 1500, 's1', { kind: 'succeeded', result: 1 })
      await run(s.store, 2000, 's2', { kind: 'succeeded', result: 2 })
      expect(await s.store.getChain(chain.id)).toMatchObject({ state: 'succeeded', finishedAt: 2000, current: 1 })
      expect(await mustGet(s.store, `${chain.id}:success`)).toMatchObject({
        type: 'on-success',
        state: 'waiting',
        attempt: 0,
        payload: { callback: 'on-success' },
        callbackOf: { group: 'chain', id: chain.id, on: 'success' },
      })
      expect(await mustGet(s.store, `${chain.id}:settled`)).toMatchObject({
        type: 'on-settled',
        callbackOf: { group: 'chain', id: chain.id, on: 'settled' },
      })
      expect(await s.store.getJob(`${chain.id}:error`)).toBeUndefined()
    })

    it('keeps the chain running while a failed step has attempts left', async () => {
      const chain = await insertChain(2, { maxAttempts: 2 })
      await run(s.store, 1500, 's1', { kind: 'failed', error: boom })
      expect((await s.store.getChain(chain.id))?.steps.map((x) => x.state)).toEqual(['delayed', 'blocked'])
      expect((await s.store.getChain(chain.id))?.state).toBe('running')
    })

    it('fails the chain when a step fails for good: the rest cancelled, error and settled callbacks', async () => {
      const chain = await insertChain(3, { maxAttempts: 1 })
      await run(s.store, 1500, 's1')
      await run(s.store, 2000, 's2', { kind: 'failed', error: boom })
      expect(await mustGet(s.store, chain.steps[2]?.id ?? '')).toMatchObject({ state: 'cancelled', finishedAt: 2000 })
      const state = await s.store.getChain(chain.id)
      expect(state).toMatchObject({ state: 'failed', finishedAt: 2000, current: 1 })
      expect(state?.steps.map((x) => x.state)).toEqual(['succeeded', 'failed', 'cancelled'])
      expect(await mustGet(s.store, `${chain.id}:error`)).toMatchObject({
        type: 'on-error',
        state: 'waiting',
        groupError: boom,
        callbackOf: { group: 'chain', id: chain.id, on: 'error' },
      })
      expect(await s.store.getJob(`${chain.id}:settled`)).toBeDefined()
      expect(await s.store.getJob(`${chain.id}:success`)).toBeUndefined()
    })

    it('fails the chain when a step\'s lease ends during its last attempt', async () => {
      const chain = await insertChain(2, { maxAttempts: 1 })
      await claimOne(s.store, T0, { types: ['s1'], leaseUntil: 2000 })
      await claim(s.store, 2000, { owner: 'engine-b', types: ['s1', 's2'] })
      expect((await s.store.getChain(chain.id))?.steps.map((x) => x.state)).toEqual(['failed', 'cancelled'])
      expect(await mustGet(s.store, `${chain.id}:error`)).toMatchObject({ groupError: { code: 'LEASE_LOST' } })
    })

    it('cancels the rest of the chain when a step is cancelled', async () => {
      const chain = await insertChain(3)
      const out = await s.store.cancel({ now: 1500, jobIds: [chain.steps[0]?.id ?? ''] })
      expect(out.cancelled).toEqual([chain.steps[0]?.id])
      const state = await s.store.getChain(chain.id)
      expect(state).toMatchObject({ state: 'cancelled', finishedAt: 1500 })
      expect(state?.steps.map((x) => x.state)).toEqual(['cancelled', 'cancelled', 'cancelled'])
      expect(await s.store.getJob(`${chain.id}:settled`)).toBeDefined()
      expect(await s.store.getJob(`${chain.id}:error`)).toBeUndefined()
    })

    it('writes nothing of a chain whose second step cannot be stored', async () => {
      const single = newJob()
      const chain = newChain([newJob({ type: 's1' }), newJob({ type: 's2', payload: { run: uncloneable } })], callbacks)
      const err = await rejection(s.store.insert({ now: T0, jobs: [single], chains: [chain] }))
      expect(err).toBeInstanceOf(SerializationError)
      expect(await s.store.getChain(chain.id)).toBeUndefined()
      for (const id of [single.id, ...stepIds(chain)]) expect(await s.store.getJob(id)).toBeUndefined()
      expect(await s.store.listJobs({}, T0)).toEqual([])
    })

    it('returns undefined for an unknown chain', async () => {
      expect(await s.store.getChain('no-such-chain')).toBeUndefined()
    })
  })
}
