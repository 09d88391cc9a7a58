/**
 * Schedules in the store: kept, listed, replaced, removed, and their due occurrences enqueued
 * exactly once by the claim that finds them due.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import type { StoredSchedule } from '../../core/store.js'
import { T0, claim, draft, mustGet, useStore, type MakeStore } from './harness.js'

const MIN = 60_000

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
      await s.store.putSchedule({ now: T0, schedule: schedule('skip', { catchUp: 'skip' }) })
      const late = T0 + 60 * MIN + 5
      const out = await claim(s.store, late, { types: ['none'] })
      expect(out.events.filter((e) => e.kind === 'job:dispatched').map((e) => ('jobId' in e ? e.jobId : ''))).toEqual([`schedule:once:${T0 + MIN}`])
      const next = await s.store.listSchedules()
      expect(next.map((x) => x.nextRunAt)).toEqual([T0 + 61 * MIN, T0 + 61 * MIN])
    })
  })
}
