/**
 * A database written by ferry schema 1, with jobs in every state, opened by this ferry in
 * Chromium: it is migrated in place and every job goes on as it was.
 */
import { deleteDB, openDB, type IDBPDatabase } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../src/index.js'
import { SCHEMA_VERSION, idbStore } from '../../src/storage/idb/index.js'

const run = Date.now().toString(36)
let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** ferry schema 1 as it was released. */
function createSchema1(db: IDBPDatabase): void {
  const jobs = db.createObjectStore('ferry.jobs', { keyPath: 'id' })
  jobs.createIndex('seq', 'seq', { unique: true })
  jobs.createIndex('state', ['state', 'seq'])
  jobs.createIndex('ready', '_ix.ready')
  jobs.createIndex('due', '_ix.due')
  jobs.createIndex('delayed', '_ix.delayed')
  jobs.createIndex('lease', '_ix.lease')
  jobs.createIndex('finished', '_ix.finished')
  jobs.createIndex('unique', ['uniqueKey', 'uniqueUntil'])
  jobs.createIndex('batch', ['batchId', 'seq'])
  jobs.createIndex('chain', ['chainId', 'seq'])
  db.createObjectStore('ferry.chains', { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore('ferry.batches', { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore('ferry.schedules', { keyPath: 'name' }).createIndex('next', 'nextRunAt')
  db.createObjectStore('ferry.meta')
}

const NOW = Date.now()
const base = { queue: 'default', priority: 0, maxAttempts: 3, backoff: 10, createdAt: NOW - 60_000, attempt: 0 }
/** Job records as schema 1 wrote them, `_ix` included, in dispatch order. */
const SCHEMA_1_JOBS = [
  { ...base, id: 'done', type: 'old', payload: 1, state: 'succeeded', attempt: 1, runAt: NOW - 60_000, finishedAt: NOW - 50_000, result: 'ok', seq: 1, _ix: { finished: NOW - 50_000 } },
  { ...base, id: 'waiting', type: 't', payload: 2, state: 'waiting', runAt: NOW - 60_000, seq: 2, _ix: { ready: ['default', 't', 0, NOW - 60_000, 2] } },
  { ...base, id: 'due', type: 't', payload: 3, state: 'delayed', runAt: NOW - 1000, seq: 3, _ix: { due: ['default', NOW - 1000, 3], delayed: NOW - 1000 } },
  { ...base, id: 'later', type: 't', payload: 4, state: 'delayed', runAt: NOW + 3_600_000, seq: 4, _ix: { due: ['default', NOW + 3_600_000, 4], delayed: NOW + 3_600_000 } },
  {
    ...base, id: 'stalled', type: 't', payload: 5, state: 'active', attempt: 1, runAt: NOW - 60_000, startedAt: NOW - 40_000, seq: 5,
    lease: { owner: 'gone', token: 'old', until: NOW - 30_000 }, _ix: { lease: ['default', 't', NOW - 30_000] },
  },
  { ...base, id: 'b0', type: 't', payload: 6, state: 'waiting', runAt: NOW - 60_000, batchId: 'b', seq: 6, _ix: { ready: ['default', 't', 0, NOW - 60_000, 6] } },
  { ...base, id: 'b1', type: 't', payload: 7, state: 'waiting', runAt: NOW - 60_000, batchId: 'b', seq: 7, _ix: { ready: ['default', 't', 0, NOW - 60_000, 7] } },
  { ...base, id: 'c0', type: 't', payload: 8, state: 'waiting', runAt: NOW - 60_000, chainId: 'c', step: 0, seq: 8, _ix: { ready: ['default', 't', 0, NOW - 60_000, 8] } },
  { ...base, id: 'c1', type: 't', payload: 9, state: 'blocked', runAt: NOW - 60_000, chainId: 'c', step: 1, seq: 9, _ix: {} },
]
const SCHEMA_1_BATCH = {
  id: 'b', state: 'running', total: 2, pending: 2, succeeded: 0, failed: 0, cancelled: 0, jobIds: ['b0', 'b1'], createdAt: NOW - 60_000,
  allowFailures: false, callbacks: {}, progressCount: 0,
}
const SCHEMA_1_CHAIN = { id: 'c', state: 'running', jobIds: ['c0', 'c1'], current: 0, createdAt: NOW - 60_000, callbacks: {} }

async function schema1Database(): Promise<string> {
  const name = `ferry-schema-1-${run}-${++n}`
  const db = await openDB(name, 1, {
    upgrade(db, _o, _n, tx) {
      createSchema1(db)
      void tx.objectStore('ferry.meta').put(1, 'schema')
      void tx.objectStore('ferry.meta').put(9, 'seq')
      for (const j of SCHEMA_1_JOBS) void tx.objectStore('ferry.jobs').put(j)
      void tx.objectStore('ferry.batches').put(SCHEMA_1_BATCH)
      void tx.objectStore('ferry.chains').put(SCHEMA_1_CHAIN)
    },
  })
  db.close()
  cleanup.push(() => deleteDB(name))
  return name
}

describe('a database of ferry schema 1 (Chromium)', { timeout: 60_000 }, () => {
  it('is migrated in place: counts, listings and batch members as before', async () => {
    const name = await schema1Database()
    const store = idbStore({ name })
    cleanup.push(() => store.close())
    const now = Date.now()
    expect(await store.counts(now)).toEqual({ blocked: 1, waiting: 5, delayed: 1, active: 1, succeeded: 1, failed: 0, cancelled: 0 })
    const ids = async (f: Parameters<typeof store.listJobs>[0]) => (await store.listJobs(f, now)).map((j) => j.id)
    expect(await ids({})).toEqual(['done', 'waiting', 'due', 'later', 'stalled', 'b0', 'b1', 'c0', 'c1'])
    expect(await ids({ state: 'waiting' })).toEqual(['waiting', 'due', 'b0', 'b1', 'c0'])
    expect(await ids({ state: 'waiting', limit: 2, offset: 1 })).toEqual(['due', 'b0'])
    expect(await ids({ state: 'delayed' })).toEqual(['later'])
    expect(await ids({ state: ['active', 'blocked', 'succeeded'] })).toEqual(['done', 'stalled', 'c1'])
    expect(await ids({ batchId: 'b' })).toEqual(['b0', 'b1'])
    expect(await store.getBatch('b')).toMatchObject({ jobIds: ['b0', 'b1'], total: 2, pending: 2 })
    expect(await store.getJob('done')).toMatchObject({ state: 'succeeded', result: 'ok' })
    expect(await store.getJob('done')).not.toHaveProperty('_ix')

    const db = await openDB(name)
    expect(await db.get('ferry.meta', 'schema')).toBe(SCHEMA_VERSION)
    expect([...db.transaction('ferry.jobs').store.indexNames]).not.toContain('seq')
    db.close()
  })

  it('runs every job it holds, takes over the dead engine\'s, and dispatches after them', async () => {
    const name = await schema1Database()
    const store = idbStore({ name })
    const queue = createQueue({ store, concurrency: 4 })
    cleanup.push(() => queue.close({ timeoutMs: 100 }))
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))
    const ran: string[] = []
    queue.register('t', (p) => void ran.push(String(p)))
    const { id } = await queue.dispatch(job('t', 10))
    expect((await store.getJob(id))?.seq).toBe(10)
    await queue.start()
    await expect.poll(() => ran.length, { timeout: 20_000 }).toBe(8)
    expect(ran.sort()).toEqual(['10', '2', '3', '5', '6', '7', '8', '9'])
    await expect.poll(async () => (await store.getBatch('b'))?.state, { timeout: 20_000 }).toBe('succeeded')
    await expect.poll(async () => (await store.getChain('c'))?.state, { timeout: 20_000 }).toBe('succeeded')
    expect(events.some((e) => e.kind === 'job:stalled' && e.jobId === 'stalled')).toBe(true)
    const counts = await queue.counts()
    expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 1, succeeded: 9 })
  })
})
