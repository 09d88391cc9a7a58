/**
 * Job metadata and versions in the IndexedDB store, in Chromium: `meta`, `dispatchedBy` and
 * `processedBy` are kept on the record and read back exactly, a damaged value does not break a
 * read, and `listJobs({ version })` finds the jobs a version dispatched or ran from the
 * `version` index, in dispatch order, with the other filters and paging.
 */
import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineStore } from '../../src/core/define-store.js'
import type { NewJob, Store, StoredJob } from '../../src/core/store.js'
import { IdbBackend } from '../../src/storage/idb/backend.js'
import { Connection } from '../../src/storage/idb/connection.js'
import { MIGRATIONS } from '../../src/storage/idb/schema.js'

const run = Date.now().toString(36)
let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanup.splice(0).reverse()) await c()
})

function open(): { name: string; backend: IdbBackend; store: Store } {
  const name = `ferry-versions-${run}-${++n}`
  const backend = new IdbBackend(new Connection({ name, migrations: MIGRATIONS }))
  const store = defineStore(backend)
  cleanup.push(async () => {
    await store.close()
    await deleteDB(name)
  })
  return { name, backend, store }
}

const T0 = 1000
const job = (id: string, o: Partial<NewJob> = {}): NewJob => ({ id, type: 't', queue: 'default', payload: id, priority: 0, maxAttempts: 3, backoff: 1000, runAt: T0, ...o })
const ids = (list: { id: string }[]): string[] => list.map((j) => j.id)

type Stamp = Partial<Pick<StoredJob, 'meta' | 'dispatchedBy' | 'processedBy' | 'state'>>

/** Sets fields on stored jobs through the backend, as the store's operations write them. */
async function stamp(backend: IdbBackend, stamps: Record<string, Stamp>): Promise<void> {
  await backend.write(async (tx) => {
    const jobs = await Promise.all(Object.keys(stamps).map((id) => tx.getJob(id)))
    for (const j of jobs) if (j) await tx.putJob({ ...j, ...stamps[j.id] })
  })
}

/** Counts the records every getAll hands back in this page. */
function countReads(): { records: number } {
  const seen = { records: 0 }
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    const original = proto.getAll as (this: unknown, ...a: unknown[]) => IDBRequest<unknown[]>
    vi.spyOn(proto, 'getAll').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const req = original.apply(this, args)
      req.addEventListener('success', () => (seen.records += req.result.length))
      return req
    } as never)
  }
  return seen
}

describe('IndexedDB job metadata and versions (Chromium)', { timeout: 60_000 }, () => {
  it('keeps meta, dispatchedBy and processedBy and reads them back exactly', async () => {
    const { backend, store } = open()
    await store.insert({ now: T0, jobs: [job('j'), job('plain')] })
    const meta = { userId: 'u1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', n: 1.5, zero: 0, ok: false, empty: '' }
    await stamp(backend, { j: { meta, dispatchedBy: '1.4.2', processedBy: '1.5.0-rc.1' } })
    const read = await backend.read((tx) => tx.getJob('j'))
    expect(read).toMatchObject({ meta, dispatchedBy: '1.4.2', processedBy: '1.5.0-rc.1' })
    expect(Object.keys(read?.meta ?? {})).toEqual(Object.keys(meta))
    expect(read).not.toHaveProperty('_ix')
    const plain = await backend.read((tx) => tx.getJob('plain'))
    expect(plain).not.toHaveProperty('meta')
    expect(plain).not.toHaveProperty('dispatchedBy')
    expect(plain).not.toHaveProperty('processedBy')
    const listed = await backend.read((tx) => tx.listJobs({ version: '1.4.2' }, T0))
    expect(listed).toEqual([read])
  })

  it('indexes a job under each of its versions, once when both are the same, and none that is not a string', async () => {
    const { name, backend, store } = open()
    await store.insert({ now: T0, jobs: [job('both'), job('same'), job('one'), job('ran'), job('none'), job('odd')] })
    await stamp(backend, {
      both: { dispatchedBy: '1.0.0', processedBy: '2.0.0' },
      same: { dispatchedBy: '2.0.0', processedBy: '2.0.0' },
      one: { dispatchedBy: '1.0.0' },
      ran: { processedBy: '' },
      odd: { dispatchedBy: 7 as unknown as string, processedBy: '1.0.0' },
    })
    const db = await openDB(name)
    try {
      const jobs = db.transaction('ferry.jobs').store
      const seqOf = Object.fromEntries(((await jobs.getAll()) as { id: string; seq: number }[]).map((r) => [r.id, r.seq]))
      const byVersion: [string, string][] = []
      let cursor = await jobs.index('version').openKeyCursor()
      while (cursor) {
        byVersion.push([(cursor.key as [string, number])[0], cursor.primaryKey as string])
        expect((cursor.key as [string, number])[1]).toBe(seqOf[cursor.primaryKey as string])
        cursor = await cursor.continue()
      }
      expect(byVersion).toEqual([['', 'ran'], ['1.0.0', 'both'], ['1.0.0', 'one'], ['1.0.0', 'odd'], ['2.0.0', 'both'], ['2.0.0', 'same']])
    } finally {
      db.close()
    }
  })

  it('reads records whose meta or versions were damaged in storage without throwing', async () => {
    const { name, backend, store } = open()
    await store.insert({ now: T0, jobs: [job('a'), job('b'), job('c')] })
    await stamp(backend, { a: { dispatchedBy: '1.0.0' }, b: { dispatchedBy: '1.0.0' }, c: { dispatchedBy: '1.0.0' } })
    const db = await openDB(name)
    const tx = db.transaction('ferry.jobs', 'readwrite')
    const damaged: Record<string, Record<string, unknown>> = {
      a: { meta: 'not an object', dispatchedBy: 42 },
      b: { meta: { nested: { deep: [1, 2] } }, processedBy: { v: 1 }, dispatchedBy: null },
      c: { meta: null, processedBy: '' },
    }
    for (const [id, change] of Object.entries(damaged)) {
      const row = (await tx.store.get(id)) as Record<string, unknown>
      await tx.store.put({ ...row, ...change })
    }
    await tx.done
    db.close()
    const [a, b, c] = await backend.read((t) => Promise.all([t.getJob('a'), t.getJob('b'), t.getJob('c')]))
    expect(a).toMatchObject({ id: 'a', meta: 'not an object', dispatchedBy: 42 })
    expect(b).toMatchObject({ id: 'b', meta: { nested: { deep: [1, 2] } }, processedBy: { v: 1 }, dispatchedBy: null })
    expect(c).toMatchObject({ id: 'c', meta: null, processedBy: '' })
    // The version index still holds what the store last wrote (1.0.0 for all three); a listing
    // keeps those whose records still say so.
    expect(ids(await backend.read((t) => t.listJobs({ version: '1.0.0' }, T0)))).toEqual(['c'])
    expect(ids(await backend.read((t) => t.listJobs({}, T0)))).toEqual(['a', 'b', 'c'])
    await expect(store.listJobs({ version: '1.0.0' }, T0)).resolves.toBeInstanceOf(Array)
    await expect(store.getJob('b')).resolves.toBeDefined()
  })

  describe('listJobs({ version })', () => {
    /**
     * 2,000 jobs dispatched by 1.0.0, among them a few dispatched by 2.0.0, a few run by 2.0.0,
     * of several types and states.
     */
    async function crowded(): Promise<{ backend: IdbBackend; store: Store }> {
      const { backend, store } = open()
      const jobs = Array.from({ length: 2000 }, (_, i) => job(`j-${i}`, { type: i % 2 === 0 ? 'even' : 'odd', runAt: i === 1500 ? T0 + 5000 : T0 }))
      await store.insert({ now: T0, jobs })
      const stamps: Record<string, Stamp> = {}
      for (const j of jobs) stamps[j.id] = { dispatchedBy: '1.0.0' }
      Object.assign(stamps, {
        'j-10': { dispatchedBy: '2.0.0' },
        'j-11': { dispatchedBy: '2.0.0', processedBy: '2.0.0' },
        'j-500': { dispatchedBy: '1.0.0', processedBy: '2.0.0', state: 'succeeded' },
        'j-1001': { dispatchedBy: '1.0.0', processedBy: '2.0.0' },
        'j-1500': { dispatchedBy: '2.0.0' },
        'j-1998': { dispatchedBy: '1.0.0', processedBy: '2.0.0' },
      } satisfies Record<string, Stamp>)
      await stamp(backend, stamps)
      return { backend, store }
    }

    it('finds the jobs a version dispatched or ran, in dispatch order, reading about as many as it returns', async () => {
      const { store } = await crowded()
      const reads = countReads()
      expect(ids(await store.listJobs({ version: '2.0.0' }, T0))).toEqual(['j-10', 'j-11', 'j-500', 'j-1001', 'j-1500', 'j-1998'])
      expect(reads.records).toBeLessThanOrEqual(6)
      expect(ids(await store.listJobs({ version: '3.0.0' }, T0))).toEqual([])
      expect(reads.records).toBeLessThanOrEqual(6)
      expect(ids(await store.listJobs({ version: '1.0.0', limit: 3, offset: 9 }, T0))).toEqual(['j-9', 'j-12', 'j-13'])
      expect(reads.records).toBeLessThanOrEqual(6 + 20)
    })

    it('combines the version with state, type and queue filters, and pages', async () => {
      const { store } = await crowded()
      const v2 = (f: object, now = T0) => store.listJobs({ version: '2.0.0', ...f }, now).then(ids)
      expect(await v2({ type: 'odd' })).toEqual(['j-11', 'j-1001'])
      expect(await v2({ state: 'succeeded' })).toEqual(['j-500'])
      expect(await v2({ state: 'delayed' })).toEqual(['j-1500'])
      // A delayed job whose time has come is listed as waiting.
      expect(await v2({ state: 'waiting' }, T0 + 5000)).toEqual(['j-10', 'j-11', 'j-1001', 'j-1500', 'j-1998'])
      expect(await v2({ state: ['waiting', 'succeeded'], type: 'even' })).toEqual(['j-10', 'j-500', 'j-1998'])
      expect(await v2({ queue: 'other' })).toEqual([])
      expect(await v2({ queue: ['other', 'default'], limit: 2, offset: 1 })).toEqual(['j-11', 'j-500'])
      expect(await v2({ offset: 5 })).toEqual(['j-1998'])
    })

    it('lists active jobs by the version running them', async () => {
      const { backend, store } = await crowded()
      const out = await store.settleAndClaim({ now: T0, settle: [], claim: { owner: 'o', token: 'k', queues: ['default'], types: ['odd'], limit: 1, leaseUntil: T0 + 60_000 } })
      expect(ids(out.claimed)).toEqual(['j-1'])
      await stamp(backend, { 'j-1': { processedBy: '2.0.0' } })
      expect(ids(await store.listJobs({ version: '2.0.0', state: 'active' }, T0))).toEqual(['j-1'])
      expect(ids(await store.listJobs({ version: '2.0.0', limit: 2 }, T0))).toEqual(['j-1', 'j-10'])
    })

    it('filters a batch\'s or a chain\'s jobs by version', async () => {
      const { backend, store } = open()
      await store.insert({
        now: T0,
        jobs: [],
        chains: [{ id: 'c', callbacks: {}, steps: [job('c0'), job('c1')] }],
        batches: [{ id: 'b', allowFailures: false, callbacks: {}, jobs: [job('b0'), job('b1'), job('b2')] }],
      })
      await stamp(backend, { c1: { dispatchedBy: '2.0.0' }, b0: { dispatchedBy: '1.0.0' }, b2: { dispatchedBy: '1.0.0', processedBy: '2.0.0' } })
      expect(ids(await store.listJobs({ batchId: 'b', version: '2.0.0' }, T0))).toEqual(['b2'])
      expect(ids(await store.listJobs({ batchId: 'b', version: '1.0.0' }, T0))).toEqual(['b0', 'b2'])
      expect(ids(await store.listJobs({ chainId: 'c', version: '2.0.0' }, T0))).toEqual(['c1'])
    })
  })
})
