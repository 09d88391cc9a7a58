/**
 * `Store.watch`, where a store has it: engines sharing the store hear of work they may claim.
 *
 * @module
 */
import { describe, expect, it, vi } from './test-api.js'
import type { QueueEvent } from '../../core/types.js'
import { T0, boom, claimOne, insertJobs, newJob, rejection, settle, uncloneable, useStore, type MakeStore } from './harness.js'

/** Job ids of the job:dispatched and job:retrying events a watcher heard. */
const heard = (calls: QueueEvent[][]): string[] =>
  calls.flat().flatMap((e) => (e.kind === 'job:dispatched' || e.kind === 'job:retrying' ? [`${e.kind} ${e.jobId}`] : []))

export function watchContract(makeStore: MakeStore): void {
  describe('watch (optional)', () => {
    const s = useStore(makeStore)

    it('tells watchers about new jobs and retries, with the events of the transaction', async (ctx) => {
      const store = s.store
      if (!store.watch) return ctx.skip('this store has no watch')
      const calls: QueueEvent[][] = []
      const stop = store.watch((events) => calls.push(events))
      const j = newJob()
      await insertJobs(store, [j])
      await vi.waitFor(() => expect(heard(calls)).toEqual([`job:dispatched ${j.id}`]))
      await settle(store, await claimOne(store, T0), T0, { kind: 'failed', error: boom })
      await vi.waitFor(() => expect(heard(calls)).toEqual([`job:dispatched ${j.id}`, `job:retrying ${j.id}`]))
      stop()
    })

    it('stops calling a watcher once it stopped listening, and says nothing of a rolled-back write', async (ctx) => {
      const store = s.store
      if (!store.watch) return ctx.skip('this store has no watch')
      const stopped: QueueEvent[][] = []
      const listening: QueueEvent[][] = []
      store.watch((events) => stopped.push(events))()
      const stop = store.watch((events) => listening.push(events))
      const bad = newJob({ payload: uncloneable })
      await rejection(store.insert({ now: T0, jobs: [bad] }))
      const good = newJob()
      await insertJobs(store, [good])
      await vi.waitFor(() => expect(heard(listening)).toEqual([`job:dispatched ${good.id}`]))
      expect(stopped).toEqual([])
      stop()
    })
  })
}
