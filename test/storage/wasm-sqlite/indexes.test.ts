import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue } from '../../../src/index.js'
import { storeBackend } from '../../../src/core/define-store.js'
import type { StoreBackend } from '../../../src/core/store-backend.js'
import type { StoredJob } from '../../../src/core/store.js'
import type { JobFilter } from '../../../src/core/types.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { MIGRATIONS } from '../../../src/storage/wasm-sqlite/schema.js'
import { installNodeVfs } from '../../../src/storage/wasm-sqlite/node-vfs.js'
import { loadSqlite } from '../../../src/storage/wasm-sqlite/sqlite.js'
import type { SqlValue } from '../../../src/storage/wasm-sqlite/transaction.js'
import { SQL, listJobsQuery } from '../../../src/storage/wasm-sqlite/statements.js'
import { T0, newBatch, newJob } from '../../../src/testing/contract/harness.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
const opened: SqliteStore[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})

function open(path?: string): SqliteStore {
  const store = path === undefined ? sqliteStore() : sqliteStore({ path })
  opened.push(store)
  return store
}

async function plan(store: SqliteStore, sql: string, bind: SqlValue[]): Promise<string> {
  const rows = await store.transaction((tx) => tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, bind))
  return rows.map((r) => r.detail).join('\n')
}

/** `n` waiting jobs written by SQL, fast: what listJobs pages through. */
async function manyWaiting(store: SqliteStore, n: number): Promise<void> {
  await store.open()
  await store.transaction((tx) => {
    tx.exec(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
       INSERT INTO ferry_jobs (seq, id, queue, type, state, priority, run_at, created_at, payload, data)
       SELECT i, 'j' || i, 'default', 't', CASE WHEN i % 10 = 0 THEN 'delayed' ELSE 'waiting' END, 0,
         CASE WHEN i % 20 = 0 THEN ?2 + 1000 ELSE ?2 END, ?2, '{}',
         '{"attempt":0,"maxAttempts":3,"backoff":1000}' FROM k`,
      [n, T0],
    )
    tx.exec(`UPDATE ferry_meta SET value = ? WHERE key = 'seq'`, [n])
  })
}

describe('listJobs', () => {
  it('pages 100,000 waiting jobs through the state index in dispatch order, without a sort or a table scan', async () => {
    const store = open()
    await manyWaiting(store, 100_000)
    for (const filter of [{ state: 'waiting' }, { state: ['waiting', 'succeeded'] }, { state: 'delayed' }, { state: 'waiting', queue: 'default' }] as JobFilter[]) {
      const q = listJobsQuery({ ...filter, limit: 100, offset: 200 }, T0)
      if (!q) throw new Error('no query')
      const p = await plan(store, q.sql, q.bind)
      expect(p, JSON.stringify(filter)).not.toMatch(/TEMP B-TREE|SCAN ferry_jobs(?! USING)/)
      expect(p).toMatch(/ferry_jobs_state_inactive/)
    }
    const backend = storeBackend(store) as StoreBackend
    const page = await backend.read((tx) => tx.listJobs({ state: 'waiting', limit: 100, offset: 200 }, T0))
    // Every 10th is delayed and every 20th not due yet: waiting is the other 19 of 20.
    const expected = Array.from({ length: 400 }, (_, i) => i + 1).filter((i) => i % 20 !== 0).slice(200, 300)
    expect(page.map((j) => j.seq)).toEqual(expected)
  }, 60_000)

  it('matches the state users see, with limit and offset, and merges several states in dispatch order', async () => {
    const store = open()
    const jobs = [newJob(), newJob({ runAt: T0 + 500 }), newJob(), newJob({ runAt: T0 + 2000 })]
    await store.insert({ now: T0, jobs })
    const backend = storeBackend(store) as StoreBackend
    const claimed = await store.settleAndClaim({
      now: T0,
      settle: [],
      claim: { queues: ['default'], types: ['t'], owner: 'e', token: 'tok', leaseUntil: T0 + 30_000, limit: 1, running: [] },
    })
    expect(claimed.claimed.map((j) => j.id)).toEqual([jobs[0]?.id])
    const ids = (list: StoredJob[]): (string | undefined)[] => list.map((j) => j.id)
    const at = T0 + 1000
    const [waiting, delayed, active, both, page, none] = await backend.read((tx) =>
      Promise.all([
        tx.listJobs({ state: 'waiting' }, at),
        tx.listJobs({ state: 'delayed' }, at),
        tx.listJobs({ state: 'active' }, at),
        tx.listJobs({ state: ['active', 'delayed', 'waiting'] }, at),
        tx.listJobs({ state: ['waiting', 'active'], limit: 2, offset: 1 }, at),
        tx.listJobs({ state: 'failed' }, at),
      ]),
    )
    expect(ids(waiting)).toEqual([jobs[1]?.id, jobs[2]?.id])
    expect(ids(delayed)).toEqual([jobs[3]?.id])
    expect(ids(active)).toEqual([jobs[0]?.id])
    expect(ids(both)).toEqual(jobs.map((j) => j.id))
    expect(ids(page)).toEqual([jobs[1]?.id, jobs[2]?.id])
    expect(none).toEqual([])
  })
})

describe('indexes', () => {
  it('reads batch members from the batch index in dispatch order, and counts from the state indexes', async () => {
    const store = open()
    await store.open()
    const batchPlan = await plan(store, SQL.batchJobIds, ['b'])
    expect(batchPlan).toMatch(/USING (COVERING )?INDEX ferry_jobs_batch \(batch_id=\?\)/)
    expect(batchPlan).not.toMatch(/TEMP B-TREE/)
    expect(await plan(store, SQL.counts, [])).toMatch(/USING COVERING INDEX ferry_jobs_state_inactive/)
    expect(await plan(store, SQL.activeCount, [])).toMatch(/USING COVERING INDEX ferry_jobs_active/)
  })

  it('keeps active jobs out of the state index: a claim and a settle leave it alone but for the waiting and finished entries', async () => {
    const store = open()
    await store.insert({ now: T0, jobs: [newJob()] })
    const entries = async (): Promise<number> =>
      store.transaction((tx) => tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM ferry_jobs INDEXED BY ferry_jobs_state_inactive WHERE state <> 'active'")[0]?.n ?? -1)
    expect(await entries()).toBe(1)
    await store.settleAndClaim({
      now: T0,
      settle: [],
      claim: { queues: ['default'], types: ['t'], owner: 'e', token: 'tok', leaseUntil: T0 + 30_000, limit: 1, running: [] },
    })
    expect(await entries()).toBe(0)
    expect(await store.counts(T0)).toMatchObject({ waiting: 0, active: 1 })
  })
})

describe('a database written by the first schema', () => {
  it('opens, migrates, and keeps working: its jobs run, its batch is read without the job list its row kept', async () => {
    // The rows as ferry writes them, from a store in memory; the batch row given the list of
    // its jobs that the first schema's batches kept.
    const source = open()
    const solo = newJob({ type: 'work' })
    const batch = newBatch([newJob({ type: 'work' }), newJob({ type: 'work' })])
    await source.insert({ now: T0, jobs: [solo], batches: [batch] })
    const { jobs, batches } = await source.transaction((tx) => ({
      jobs: tx.query<Record<string, SqlValue>>('SELECT * FROM ferry_jobs ORDER BY seq'),
      batches: tx.query<{ id: string; state: string; data: string }>('SELECT id, state, data FROM ferry_batches'),
    }))

    const path = join(dir(), 'v1.db')
    const sqlite3 = await loadSqlite()
    const db = new sqlite3.oo1.DB({ filename: path, flags: 'c', vfs: installNodeVfs(sqlite3) })
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec(MIGRATIONS[0] as string)
    db.exec('PRAGMA user_version = 1')
    for (const j of jobs) {
      // The columns the first schema had: the versions came with migration 5.
      const cols = Object.keys(j).filter((c) => c !== 'dispatched_by' && c !== 'processed_by')
      db.exec({ sql: `INSERT INTO ferry_jobs (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, bind: cols.map((c) => j[c] ?? null) })
    }
    db.exec({ sql: "UPDATE ferry_meta SET value = ? WHERE key = 'seq'", bind: [jobs.length] })
    for (const b of batches) {
      const data = { ...(JSON.parse(b.data) as object), jobIds: batch.jobs.map((j) => j.id) }
      db.exec({ sql: 'INSERT INTO ferry_batches (id, state, finished_at, data) VALUES (?, ?, NULL, ?)', bind: [b.id, b.state, JSON.stringify(data)] })
    }
    expect(db.selectValues("SELECT name FROM sqlite_schema WHERE name = 'ferry_jobs_state'")).toEqual(['ferry_jobs_state'])
    db.close()

    const store = open(path)
    const queue = createQueue({ store })
    const ran: string[] = []
    queue.register('work', (_payload, ctx) => {
      ran.push(ctx.id)
    })
    expect((await store.getBatch(batch.id))?.jobIds).toEqual(batch.jobs.map((j) => j.id))
    await queue.start()
    await expect.poll(() => ran.length, { timeout: 10_000 }).toBe(3)
    await expect.poll(async () => (await store.getBatch(batch.id))?.state, { timeout: 10_000 }).toBe('succeeded')
    expect((await store.counts(T0)).succeeded).toBe(3)
    expect(await store.transaction((tx) => tx.query('PRAGMA user_version'))).toEqual([{ user_version: MIGRATIONS.length }])
    const indexes = await store.transaction((tx) => tx.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'ferry_jobs_state%'"))
    expect(indexes.map((r) => r.name)).toEqual(['ferry_jobs_state_inactive'])
    await queue.close()
  })
})
