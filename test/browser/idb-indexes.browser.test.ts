/**
 * What the IndexedDB store writes and reads in Chromium: each job is kept only in the indexes
 * its state is queried by, a listing reads about as many records as it returns, a transaction
 * reads the sequence counter once, and a batch record does not list its jobs.
 */
import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineStore } from '../../src/core/define-store.js'
import type { NewJob, Store, StoredBatch } from '../../src/core/store.js'
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
  const name = `ferry-indexes-${run}-${++n}`
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
const claim = (types: string[], limit = 100) => ({ owner: 'o', token: `k-${types.join()}`, queues: ['default'], types, limit, leaseUntil: T0 + 60_000 })

/** The indexes of the jobs store that hold `id`, by name. */
async function indexesOf(name: string, ids: string[]): Promise<Record<string, string[]>> {
  const db = await openDB(name)
  const tx = db.transaction('ferry.jobs')
  const out: Record<string, string[]> = Object.fromEntries(ids.map((id) => [id, []]))
  for (const ix of [...tx.store.indexNames].sort()) {
    const keys = new Set(await tx.store.index(ix).getAllKeys())
    for (const id of ids) if (keys.has(id)) out[id]?.push(ix)
  }
  db.close()
  return out
}

/** Counts the records every getAll, getAllKeys and get hands back in this page, on stores and indexes. */
function countReads(): { records: number } {
  const seen = { records: 0 }
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const method of ['getAll', 'getAllKeys'] as const) {
      const original = proto[method] as (this: unknown, ...a: unknown[]) => IDBRequest<unknown[]>
      vi.spyOn(proto, method).mockImplementation(function (this: unknown, ...args: unknown[]) {
        const req = original.apply(this, args)
        req.addEventListener('success', () => (seen.records += req.result.length))
        return req
      } as never)
    }
    const get = proto.get as (this: unknown, ...a: unknown[]) => IDBRequest<unknown>
    vi.spyOn(proto, 'get').mockImplementation(function (this: unknown, ...args: unknown[]) {
      const req = get.apply(this, args)
      req.addEventListener('success', () => (seen.records += req.result === undefined ? 0 : 1))
      return req
    } as never)
    vi.spyOn(proto, 'openCursor').mockImplementation(() => {
      throw new Error('a listing opens no cursor')
    })
  }
  return seen
}

describe('IndexedDB store indexes (Chromium)', { timeout: 60_000 }, () => {
  it('keeps each job only in the indexes its state is queried by', async () => {
    const { name, store } = open()
    await store.insert({
      now: T0,
      jobs: [job('waiting'), job('delayed', { runAt: T0 + 5000 }), job('active', { type: 'a' }), job('done', { type: 's' }), job('unique', { uniqueKey: 'k', uniqueUntil: T0 + 5000 })],
      chains: [{ id: 'c', callbacks: {}, steps: [job('c0', { type: 'chain' }), job('c1', { type: 'chain' })] }],
      batches: [{ id: 'b', allowFailures: false, callbacks: {}, jobs: [job('b0', { type: 'batch' })] }],
    })
    await store.settleAndClaim({ now: T0, settle: [], claim: claim(['a']) })
    const done = await store.settleAndClaim({ now: T0, settle: [], claim: claim(['s']) })
    await store.settleAndClaim({ now: T0 + 10, settle: [{ id: 'done', token: done.claimed[0]?.lease?.token ?? '', outcome: { kind: 'succeeded' } }] })
    expect(await indexesOf(name, ['waiting', 'delayed', 'active', 'done', 'unique', 'c0', 'c1', 'b0'])).toEqual({
      waiting: ['ready', 'readyRunAt', 'state'],
      delayed: ['delayed', 'due', 'state'],
      active: ['lease'],
      done: ['finished', 'retain', 'state'],
      unique: ['ready', 'readyRunAt', 'state', 'unique'],
      c0: ['chain', 'ready', 'readyRunAt', 'state'],
      c1: ['chain', 'state'],
      b0: ['batch', 'ready', 'readyRunAt', 'state'],
    })
  })

  describe('listJobs reads about as many records as it returns', () => {
    /** 2,000 waiting jobs, 3 delayed ones due at T0 + 100 among the first, 300 delayed for later, 20 succeeded, 2 active. */
    async function crowded(): Promise<{ store: Store; seqOrder: string[] }> {
      const { store } = open()
      const early = [job('early-0'), job('due-0', { runAt: T0 + 100 }), job('early-1'), job('due-1', { runAt: T0 + 100 }), job('due-2', { runAt: T0 + 100 })]
      const later = Array.from({ length: 300 }, (_, i) => job(`later-${i}`, { runAt: T0 + 86_400_000 }))
      const finished = Array.from({ length: 20 }, (_, i) => job(`done-${i}`, { type: 's' }))
      const running = Array.from({ length: 2 }, (_, i) => job(`run-${i}`, { type: 'a' }))
      const waiting = Array.from({ length: 2000 }, (_, i) => job(`w-${i}`))
      await store.insert({ now: T0, jobs: [...early, ...later, ...finished, ...running, ...waiting] })
      const out = await store.settleAndClaim({ now: T0, settle: [], claim: claim(['s']) })
      await store.settleAndClaim({ now: T0, settle: out.claimed.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: { kind: 'succeeded' as const } })) })
      await store.settleAndClaim({ now: T0, settle: [], claim: claim(['a']) })
      return { store, seqOrder: [...early, ...later, ...finished, ...running, ...waiting].map((j) => j.id) }
    }
    const ids = (list: { id: string }[]): string[] => list.map((j) => j.id)

    it('lists the first waiting jobs, delayed ones whose time has come among them, from 2,000', async () => {
      const { store } = await crowded()
      const reads = countReads()
      const page = await store.listJobs({ state: 'waiting', limit: 20 }, T0 + 200)
      expect(ids(page)).toEqual(['early-0', 'due-0', 'early-1', 'due-1', 'due-2', ...Array.from({ length: 15 }, (_, i) => `w-${i}`)])
      expect(reads.records).toBeLessThanOrEqual(40)
    })

    it('pages with offset reading about offset + limit records', async () => {
      const { store } = await crowded()
      const reads = countReads()
      const page = await store.listJobs({ state: 'waiting', limit: 10, offset: 100 }, T0 + 200)
      expect(ids(page)).toEqual(Array.from({ length: 10 }, (_, i) => `w-${95 + i}`))
      expect(reads.records).toBeLessThanOrEqual(130)
    })

    it('lists delayed jobs whose time has not come, skipping those that are due', async () => {
      const { store } = await crowded()
      const reads = countReads()
      expect(ids(await store.listJobs({ state: 'delayed', limit: 5 }, T0 + 200))).toEqual(['later-0', 'later-1', 'later-2', 'later-3', 'later-4'])
      expect(ids(await store.listJobs({ state: 'delayed', limit: 2 }, T0))).toEqual(['due-0', 'due-1'])
      expect(reads.records).toBeLessThanOrEqual(20)
    })

    it('lists every state in dispatch order, and finished and active jobs by state', async () => {
      const { store, seqOrder } = await crowded()
      const reads = countReads()
      expect(ids(await store.listJobs({ limit: 30 }, T0))).toEqual(seqOrder.slice(0, 30))
      expect(ids(await store.listJobs({ state: 'succeeded', limit: 3, offset: 1 }, T0))).toEqual(['done-1', 'done-2', 'done-3'])
      expect(ids(await store.listJobs({ state: ['active', 'succeeded'], limit: 40 }, T0))).toEqual([...Array.from({ length: 20 }, (_, i) => `done-${i}`), 'run-0', 'run-1'])
      expect(reads.records).toBeLessThanOrEqual(7 * 30 + 10 + 70)
    })
  })

  it('reads the sequence counter once per transaction, however many ask for numbers together', async () => {
    const { backend, store } = open()
    await store.insert({ now: T0, jobs: [job('first')] })
    const metaGets = vi.spyOn(IDBObjectStore.prototype, 'get')
    const seqs = await backend.write((tx) => Promise.all([tx.nextSeq(), tx.nextSeq(5), tx.nextSeq(), tx.getJob('first')]))
    const first = (await store.getJob('first'))?.seq ?? NaN
    expect(seqs.slice(0, 3)).toEqual([first + 1, first + 2, first + 7])
    expect(metaGets.mock.calls.filter(([key]) => key === 'seq')).toHaveLength(1)
    await store.insert({ now: T0, jobs: [job('next')] })
    expect((await store.getJob('next'))?.seq).toBe(first + 8)
  })

  it('keeps batch records without their member lists, and reads ones written with a list', async () => {
    const { name, backend, store } = open()
    await store.insert({ now: T0, jobs: [], batches: [{ id: 'b', allowFailures: false, callbacks: {}, jobs: [job('m0'), job('m1')] }] })
    await backend.write(async (tx) => {
      const b = (await tx.getBatch('b')) as StoredBatch
      await tx.putBatch({ ...b, jobIds: ['stale'] } as StoredBatch)
    })
    const db = await openDB(name)
    const stored = (await db.get('ferry.batches', 'b')) as Record<string, unknown>
    // As a batch record of schema 1 was written.
    await db.put('ferry.batches', { ...stored, jobIds: ['m0', 'm1'] })
    db.close()
    expect(stored).not.toHaveProperty('jobIds')
    expect(await backend.read((tx) => tx.getBatch('b'))).not.toHaveProperty('jobIds')
    expect(await store.getBatch('b')).toMatchObject({ jobIds: ['m0', 'm1'], total: 2, pending: 2 })
    expect(await backend.read((tx) => tx.batchJobIds('b'))).toEqual(['m0', 'm1'])
  })
})
