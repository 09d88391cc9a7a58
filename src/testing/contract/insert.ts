/**
 * `Store.insert`: new jobs, deduplication by id and unique key, all or nothing.
 *
 * @module
 */
import { describe, expect, it } from './test-api.js'
import { InvalidArgumentError, QueueError, SerializationError } from '../../core/errors.js'
import {
  T0,
  claimOne,
  insertJobs,
  kinds,
  mustGet,
  newBatch,
  newChain,
  newJob,
  rejection,
  settle,
  uncloneable,
  useStore,
  type MakeStore,
} from './harness.js'

export function insertContract(makeStore: MakeStore): void {
  describe('insert', () => {
    const s = useStore(makeStore)

    it('writes a due job as waiting and a future one as delayed, with attempt 0 and createdAt = now', async () => {
      const due = newJob({ payload: { n: 1 }, priority: 3, maxAttempts: 5 })
      const past = newJob({ runAt: T0 - 500 })
      const future = newJob({ runAt: T0 + 500, queue: 'mail', type: 'send' })
      const [a, b, c] = await insertJobs(s.store, [due, past, future])
      expect(a).toMatchObject({ id: due.id, type: 't', queue: 'default', payload: { n: 1 }, state: 'waiting', priority: 3 })
      expect(a).toMatchObject({ attempt: 0, maxAttempts: 5, runAt: T0, createdAt: T0 })
      expect(b).toMatchObject({ state: 'waiting', runAt: T0 - 500, attempt: 0, createdAt: T0 })
      expect(c).toMatchObject({ state: 'delayed', runAt: T0 + 500, queue: 'mail', type: 'send', attempt: 0, createdAt: T0 })
      for (const j of [a, b, c]) {
        expect(j?.startedAt).toBeUndefined()
        expect(j?.finishedAt).toBeUndefined()
        expect(j?.lease).toBeUndefined()
      }
    })

    it('numbers jobs in dispatch order, across inserts', async () => {
      const first = [newJob(), newJob(), newJob()]
      const later = newJob()
      await s.store.insert({ now: T0, jobs: first })
      await s.store.insert({ now: T0 + 1, jobs: [later] })
      const seqs = await Promise.all([...first, later].map(async (j) => (await mustGet(s.store, j.id)).seq))
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y))
      expect(new Set(seqs).size).toBe(4)
    })

    it('returns one result per job, in input order, and job:dispatched for the written ones only', async () => {
      const known = newJob()
      await s.store.insert({ now: T0, jobs: [known] })
      const a = newJob()
      const b = newJob({ queue: 'mail', type: 'send' })
      const out = await s.store.insert({ now: T0, jobs: [a, { ...known }, b] })
      expect(out.results).toEqual([
        { id: a.id, duplicate: false },
        { id: known.id, duplicate: true },
        { id: b.id, duplicate: false },
      ])
      expect(kinds(out.events)).toEqual([`job:dispatched ${a.id}`, `job:dispatched ${b.id}`])
      expect(out.events[1]).toMatchObject({ kind: 'job:dispatched', at: T0, jobId: b.id, type: 'send', queue: 'mail' })
    })

    it('treats an id that exists as a duplicate and changes nothing', async () => {
      const original = newJob({ payload: { v: 1 } })
      await s.store.insert({ now: T0, jobs: [original] })
      const before = await mustGet(s.store, original.id)
      const counts = await s.store.counts(T0)
      const out = await s.store.insert({ now: T0 + 10, jobs: [{ ...original, type: 'other', payload: { v: 2 }, runAt: T0 + 99 }] })
      expect(out.results).toEqual([{ id: original.id, duplicate: true }])
      expect(out.events).toEqual([])
      expect(await s.store.getJob(original.id)).toEqual(before)
      expect(await s.store.counts(T0)).toEqual(counts)
    })

    it('treats an id that exists as a duplicate even once its job has finished', async () => {
      const j = newJob()
      await insertJobs(s.store, [j])
      await settle(s.store, await claimOne(s.store, T0), T0, { kind: 'succeeded' })
      const out = await s.store.insert({ now: T0 + 1, jobs: [newJob({ id: j.id })] })
      expect(out.results).toEqual([{ id: j.id, duplicate: true }])
      expect((await s.store.counts(T0 + 1)).waiting).toBe(0)
    })

    it('returns the holder of a unique key as the duplicate while the key is held', async () => {
      const holder = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })
      await s.store.insert({ now: T0, jobs: [holder] })
      const again = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 2000 })
      const out = await s.store.insert({ now: T0 + 999, jobs: [again] })
      expect(out.results).toEqual([{ id: holder.id, duplicate: true }])
      expect(out.events).toEqual([])
      expect(await s.store.getJob(again.id)).toBeUndefined()
    })

    it('holds a unique key until uniqueUntil whatever the holder\'s state', async () => {
      const holder = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })
      await s.store.insert({ now: T0, jobs: [holder] })
      await s.store.cancel({ now: T0, jobIds: [holder.id] })
      const out = await s.store.insert({ now: T0 + 1, jobs: [newJob({ uniqueKey: 'k' })] })
      expect(out.results).toEqual([{ id: holder.id, duplicate: true }])
    })

    it('writes a new job with the same unique key once uniqueUntil has passed', async () => {
      await s.store.insert({ now: T0, jobs: [newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })] })
      const next = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 3000, runAt: T0 + 1000 })
      const out = await s.store.insert({ now: T0 + 1000, jobs: [next] })
      expect(out.results).toEqual([{ id: next.id, duplicate: false }])
      expect(await mustGet(s.store, next.id)).toMatchObject({ state: 'waiting', uniqueKey: 'k' })
      const third = await s.store.insert({ now: T0 + 1001, jobs: [newJob({ uniqueKey: 'k' })] })
      expect(third.results).toEqual([{ id: next.id, duplicate: true }])
    })

    it('treats the second of two jobs with one unique key in one insert as a duplicate', async () => {
      const a = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })
      const b = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })
      const out = await s.store.insert({ now: T0, jobs: [a, b] })
      expect(out.results).toEqual([
        { id: a.id, duplicate: false },
        { id: a.id, duplicate: true },
      ])
      expect(await s.store.getJob(b.id)).toBeUndefined()
      expect((await s.store.counts(T0)).waiting).toBe(1)
    })

    it('treats the second of two jobs with one id in one insert as a duplicate', async () => {
      const a = newJob()
      const out = await s.store.insert({ now: T0, jobs: [a, { ...a, type: 'other' }, newJob()] })
      expect(out.results.slice(0, 2)).toEqual([
        { id: a.id, duplicate: false },
        { id: a.id, duplicate: true },
      ])
      expect(kinds(out.events).filter((k) => k === `job:dispatched ${a.id}`)).toHaveLength(1)
      expect((await mustGet(s.store, a.id)).type).toBe('t')
    })

    it('refuses a chain or batch job whose id is taken, by a stored job or one of the same insert, and writes nothing', async () => {
      const stored = newJob()
      await insertJobs(s.store, [stored])
      const single = newJob()
      const cases: Parameters<typeof s.store.insert>[0][] = [
        { now: T0, jobs: [], chains: [newChain([newJob(), newJob({ id: stored.id })])] },
        { now: T0, jobs: [single], batches: [newBatch([newJob(), newJob({ id: single.id })])] },
        { now: T0, jobs: [], batches: [newBatch([newJob({ id: 'twice' }), newJob({ id: 'twice' })])] },
        { now: T0, jobs: [], chains: [newChain([newJob({ id: 'shared' })])], batches: [newBatch([newJob({ id: 'shared' })])] },
      ]
      for (const input of cases) {
        const err = await rejection(s.store.insert(input))
        expect(err).toBeInstanceOf(InvalidArgumentError)
        for (const ch of input.chains ?? []) expect(await s.store.getChain(ch.id)).toBeUndefined()
        for (const bt of input.batches ?? []) expect(await s.store.getBatch(bt.id)).toBeUndefined()
        expect((await s.store.listJobs({}, T0)).map((j) => j.id)).toEqual([stored.id])
      }
    })

    it('writes one job when two concurrent inserts share an id or a unique key', async () => {
      const same = newJob()
      const [x, y] = [newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 }), newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })]
      const outs = await Promise.all([s.store.insert({ now: T0, jobs: [same, x] }), s.store.insert({ now: T0, jobs: [{ ...same }, y] })])
      const results = outs.flatMap((o) => o.results)
      expect(results.filter((r) => r.duplicate)).toHaveLength(2)
      expect(new Set(results.map((r) => r.id)).size).toBe(2)
      expect((await s.store.counts(T0)).waiting).toBe(2)
    })

    it('writes none of the jobs when one payload cannot be stored', async () => {
      const kept = newJob()
      await s.store.insert({ now: T0, jobs: [kept] })
      const counts = await s.store.counts(T0)
      const jobs = [newJob(), newJob({ payload: { run: uncloneable } }), newJob()]
      const err = await rejection(s.store.insert({ now: T0, jobs }))
      expect(err).toBeInstanceOf(SerializationError)
      expect((err as QueueError).code).toBe('SERIALIZATION')
      for (const j of jobs) expect(await s.store.getJob(j.id)).toBeUndefined()
      expect(await s.store.counts(T0)).toEqual(counts)
      expect((await s.store.listJobs({}, T0)).map((j) => j.id)).toEqual([kept.id])
    })

    it('refuses a function, a symbol key or a cycle hung on an array as a named property, and properties on a Map or Set', async () => {
      const sym = Symbol('k')
      const cyclic: unknown[] = [1]
      const payloads = [
        { list: Object.assign([1, 2], { run: uncloneable }) },
        { list: Object.assign([1], { [sym]: 1 }) },
        { list: Object.assign(cyclic, { self: cyclic }) },
        { map: Object.assign(new Map([[1, 2]]), { note: 'dropped by every store' }) },
        { set: Object.assign(new Set([1]), { run: uncloneable }) },
      ]
      for (const payload of payloads) {
        const j = newJob({ payload })
        expect(await rejection(s.store.insert({ now: T0, jobs: [j] }))).toBeInstanceOf(SerializationError)
        expect(await s.store.getJob(j.id)).toBeUndefined()
      }
    })

    it('refuses a payload that throws when read, with SerializationError', async () => {
      const { proxy, revoke } = Proxy.revocable({ a: 1 }, {})
      revoke()
      const getter = Object.defineProperty({}, 'x', { enumerable: true, get: () => { throw new Error('not loaded') } })
      for (const payload of [{ draft: proxy }, getter]) {
        const j = newJob({ payload })
        const err = await rejection(s.store.insert({ now: T0, jobs: [j] }))
        expect(err).toBeInstanceOf(SerializationError)
        expect((err as Error).cause).toBeInstanceOf(Error)
        expect(await s.store.getJob(j.id)).toBeUndefined()
      }
    })

    it('leaves the ids and unique keys of a rejected insert free', async () => {
      const a = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 1000 })
      await rejection(s.store.insert({ now: T0, jobs: [a, newJob({ payload: uncloneable })] }))
      const out = await s.store.insert({ now: T0, jobs: [a] })
      expect(out.results).toEqual([{ id: a.id, duplicate: false }])
      expect(await mustGet(s.store, a.id)).toMatchObject({ state: 'waiting', uniqueKey: 'k' })
    })
  })
}
