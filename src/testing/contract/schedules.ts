/**
 * Schedules in the store: kept, listed, replaced, removed, and their due occurrences enqueued
 * exactly once by the claim or tick that finds them due. Also the other time-driven change a
 * tick makes without a claim: delayed jobs coming due move to waiting.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import type { SettleAndClaimOutcome, Store, StoredSchedule } from '../../core/store.js'
import { T0, claim, claimRequest, draft, insertJobs, kinds, mustGet, newJob, useStore, type MakeStore } from './harness.js'

const MIN = 60_000

/** A turn with nothing to settle or claim: only the time-driven changes of these queues. */
function tick(store: Store, now: number, queues = ['default']): Promise<SettleAndClaimOutcome> {
  return store.settleAndClaim({ now, settle: [], tick: { queues } })
}

function schedule(name: string, o: Partial<StoredSchedule> = {}): StoredSchedule {
  return {
    name,
    when: { every: MIN },
    catchUp: 'once',
    job: draft('t'),
    nextRunAt: T0 + MIN,
    createdAt: T0,
    updatedAt: T0,
    ...o,
  }
}

export function scheduleContract(makeStore: MakeStore): void {
  describe('schedules', () => {
    const s = useStore(makeStore)

    it('keeps schedules and lists them by name', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('b') })
      await s.store.putSchedule({ now: T0, schedule: schedule('a', { when: '0 3 * * *', timezone: 'UTC', catchUp: 'skip' }) })
      const list = await s.store.listSchedules()
      expect(list.map((x) => x.name)).toEqual(['a', 'b'])
      expect(list[0]).toEqual(schedule('a', { when: '0 3 * * *', timezone: 'UTC', catchUp: 'skip' }))
    })

    it('replaces a schedule of the same name, keeping its next run when the timing is unchanged', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('a') })
      await s.store.putSchedule({ now: T0 + 10, schedule: schedule('a', { nextRunAt: T0 + 10 + MIN, job: draft('other'), updatedAt: T0 + 10 }) })
      let [a] = await s.store.listSchedules()
      expect(a).toMatchObject({ nextRunAt: T0 + MIN, job: { type: 'other' }, createdAt: T0, updatedAt: T0 + 10 })
      await s.store.putSchedule({ now: T0 + 20, schedule: schedule('a', { when: { every: 2 * MIN }, nextRunAt: T0 + 20 + 2 * MIN }) })
      ;[a] = await s.store.listSchedules()
      expect(a).toMatchObject({ when: { every: 2 * MIN }, nextRunAt: T0 + 20 + 2 * MIN, createdAt: T0 })
    })

    it('removes a schedule, saying whether there was one', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('a') })
      expect(await s.store.deleteSchedule('a')).toBe(true)
      expect(await s.store.deleteSchedule('a')).toBe(false)
      expect(await s.store.listSchedules()).toEqual([])
    })

    it('enqueues a due occurrence once, with an id from the schedule and the time, and moves the schedule on', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('sync') })
      const early = await claim(s.store, T0 + MIN - 1, { types: ['none'] })
      expect(early.nextWakeAt).toBe(T0 + MIN)
      const [a, b] = await Promise.all([claim(s.store, T0 + MIN, { types: ['none'] }), claim(s.store, T0 + MIN, { types: ['none'] })])
      const id = `schedule:sync:${T0 + MIN}`
      const dispatched = [...a.events, ...b.events].filter((e) => e.kind === 'job:dispatched')
      expect(dispatched).toEqual([expect.objectContaining({ jobId: id, type: 't' })])
      expect(await mustGet(s.store, id)).toMatchObject({ state: 'waiting', type: 't', payload: { callback: 't' } })
      expect(await s.store.listSchedules()).toEqual([expect.objectContaining({ nextRunAt: T0 + 2 * MIN, lastRunAt: T0 + MIN })])
    })

    it('folds occurrences missed while nothing ran into one, or drops them with catchUp skip', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('once') })
      await s.store.putSchedule({ now: T0, schedule: schedule('skip', { catchUp: 'skip', when: { every: 5 * MIN }, nextRunAt: T0 + 5 * MIN }) })
      // The last occurrence of 'skip' missed, at T0 + 60 min, is more than a minute late.
      const late = T0 + 61 * MIN + 1005
      const out = await claim(s.store, late, { types: ['none'] })
      expect(out.events.filter((e) => e.kind === 'job:dispatched').map((e) => ('jobId' in e ? e.jobId : ''))).toEqual([`schedule:once:${T0 + MIN}`])
      const next = await s.store.listSchedules()
      expect(next.map((x) => x.nextRunAt)).toEqual([T0 + 62 * MIN, T0 + 65 * MIN])
    })

    it('with catchUp skip, enqueues the latest missed occurrence when it is less than a minute late', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('skip', { catchUp: 'skip', when: { every: 5 * MIN }, nextRunAt: T0 + 5 * MIN }) })
      const out = await tick(s.store, T0 + 10 * MIN + 59_000)
      expect(kinds(out.events)).toEqual([`job:dispatched schedule:skip:${T0 + 10 * MIN}`])
      expect(await s.store.listSchedules()).toEqual([expect.objectContaining({ nextRunAt: T0 + 15 * MIN, lastRunAt: T0 + 10 * MIN })])
      // The same occurrence is not enqueued again.
      expect((await tick(s.store, T0 + 10 * MIN + 59_500)).events).toEqual([])
    })

    it('fires due schedules on a tick, without a claim, and says when the next one falls due', async () => {
      await s.store.putSchedule({ now: T0, schedule: schedule('sync') })
      const early = await tick(s.store, T0 + MIN - 1)
      expect(early.events).toEqual([])
      expect(early.nextWakeAt).toBe(T0 + MIN)
      const [a, b] = await Promise.all([tick(s.store, T0 + MIN), tick(s.store, T0 + MIN)])
      expect([...kinds(a.events), ...kinds(b.events)]).toEqual([`job:dispatched schedule:sync:${T0 + MIN}`])
      expect(a.nextWakeAt).toBe(T0 + 2 * MIN)
      expect(a.claimed).toEqual([])
    })

    it('moves due delayed jobs of the tick\'s queues to waiting, each with a job:waiting event', async () => {
      const [soon, later, other] = await insertJobs(s.store, [
        newJob({ queue: 'a', runAt: T0 + 500 }),
        newJob({ queue: 'b', runAt: T0 + 5000 }),
        newJob({ queue: 'c', runAt: T0 + 100 }),
      ])
      const first = await tick(s.store, T0 + 600, ['a', 'b'])
      expect(first.events).toEqual([{ kind: 'job:waiting', at: T0 + 600, jobId: soon?.id, type: 't', queue: 'a' }])
      expect(first.nextWakeAt).toBe(T0 + 5000)
      expect((await mustGet(s.store, soon?.id ?? '')).state).toBe('waiting')
      expect((await mustGet(s.store, other?.id ?? '')).state).toBe('delayed')
      expect((await tick(s.store, T0 + 700, ['a', 'b'])).events).toEqual([])
      const second = await tick(s.store, T0 + 5000, ['a', 'b'])
      expect(kinds(second.events)).toEqual([`job:waiting ${later?.id}`])
      expect(second.nextWakeAt).toBeUndefined()
    })

    it('moves due delayed jobs to waiting with a job:waiting event when a claim finds them', async () => {
      const [j] = await insertJobs(s.store, [newJob({ runAt: T0 + 500 })])
      const out = await claim(s.store, T0 + 500)
      expect(kinds(out.events)).toEqual([`job:waiting ${j?.id}`, `job:started ${j?.id}`])
    })

    it('says when the next delayed job or schedule falls due when a tick comes with a claim that took its limit', async () => {
      await insertJobs(s.store, [newJob(), newJob(), newJob({ queue: 'paused', runAt: T0 + 700 })])
      await s.store.putSchedule({ now: T0, schedule: schedule('sync') })
      const full = await s.store.settleAndClaim({
        now: T0,
        settle: [],
        claim: claimRequest(T0, { limit: 2 }),
        tick: { queues: ['default', 'paused'] },
      })
      expect(full.claimed).toHaveLength(2)
      expect(full.nextWakeAt).toBe(T0 + 700)
    })
  })
}
