/**
 * The SQLite store's part in claim order, job metadata and versions (migration 5): the `'runAt'`
 * claim reads an index of its own in its order, with no sort; the default claim keeps its index;
 * `dispatchedBy` and `processedBy` are columns, `meta` is kept in the row's data, each read back
 * as written; a value changed by hand into what ferry never writes is read as it is, never
 * thrown out of a read, and a queue's record check leaves it out and fails the job; and a
 * schema-4 file gets all this when it is opened.
 */
import { copyFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue } from '../../../src/index.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { MIGRATIONS } from '../../../src/storage/wasm-sqlite/schema.js'
import { SQL, listJobsQuery } from '../../../src/storage/wasm-sqlite/statements.js'
import type { SqlValue } from '../../../src/storage/wasm-sqlite/transaction.js'
import type { JobFilter } from '../../../src/core/types.js'
import { T0, newJob } from '../../../src/testing/contract/harness.js'
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

/** `n` waiting jobs of mixed priority and runAt, written by SQL, and statistics, as a long-used file has. */
async function manyWaiting(store: SqliteStore, n: number): Promise<void> {
  await store.open()
  await store.transaction((tx) => {
    tx.exec(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?1)
       INSERT INTO ferry_jobs (seq, id, queue, type, state, priority, run_at, created_at, payload, data)
       SELECT i, 'j' || i, 'default', 't', 'waiting', i % 5, ?2 - (i % 97), ?2, '{}',
         '{"attempt":0,"maxAttempts":3,"backoff":1000}' FROM k`,
      [n, T0],
    )
    tx.exec(`UPDATE ferry_meta SET value = ? WHERE key = 'seq'`, [n])
  })
}

describe('SQLite claim order', () => {
  it("reads the 'runAt' order from ferry_jobs_waiting_run_at and the default from ferry_jobs_waiting, neither with a sort", async () => {
    const store = open()
    await manyWaiting(store, 20_000)
    for (const analyzed of [false, true]) {
      if (analyzed) await store.transaction((tx) => tx.exec('ANALYZE'))
      const byRunAt = await plan(store, SQL.readyRunAt, ['default', 't', 100])
      expect(byRunAt).toMatch(/USING INDEX ferry_jobs_waiting_run_at \(queue=\? AND type=\?\)/)
      expect(byRunAt).not.toMatch(/TEMP B-TREE/)
      const byPriority = await plan(store, SQL.ready, ['default', 't', 100])
      expect(byPriority).toMatch(/USING INDEX ferry_jobs_waiting \(queue=\? AND type=\?\)/)
      expect(byPriority).not.toMatch(/TEMP B-TREE/)
    }
  })

  it("claims 2,000 waiting jobs in 'runAt' order, page by page, as a sort of them says", async () => {
    const store = open()
    await manyWaiting(store, 2_000)
    const all = await store.listJobs({ limit: 10_000 }, T0)
    const expected = [...all].sort((a, b) => a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq).map((j) => j.id)
    const got: string[] = []
    for (let i = 0; i < 40; i++) {
      const out = await store.settleAndClaim({
        now: T0,
        settle: [],
        claim: { owner: 'e', token: `tok-${i}`, queues: ['default'], types: ['t'], limit: 50, leaseUntil: T0 + 60_000, order: 'runAt' },
      })
      got.push(...out.claimed.map((j) => j.id))
    }
    expect(got).toEqual(expected)
  })
})

describe('SQLite job metadata and versions', () => {
  it('keeps dispatchedBy and processedBy in columns, meta in the data, and reads each back exactly', async () => {
    const store = open()
    const meta = { userId: 'ü-1 "quoted"', big: 2 ** 53 - 1, small: 1e-7, neg: -3.5, yes: true, no: false, empty: '' }
    const j = newJob({ meta, dispatchedBy: '1.4.2+build.7' })
    await store.insert({ now: T0, jobs: [j] })
    await store.settleAndClaim({
      now: T0,
      settle: [],
      claim: { owner: 'e', token: 'tok', queues: ['default'], types: ['t'], limit: 1, leaseUntil: T0 + 1000, version: '1.5.0' },
    })
    const [row] = await store.transaction((tx) =>
      tx.query<{ dispatched_by: string; processed_by: string; meta: string }>(
        "SELECT dispatched_by, processed_by, json_extract(data, '$.meta') AS meta FROM ferry_jobs WHERE id = ?",
        [j.id],
      ),
    )
    expect(row).toEqual({ dispatched_by: '1.4.2+build.7', processed_by: '1.5.0', meta: JSON.stringify(meta) })
    const data = await store.transaction((tx) => tx.query<{ data: string }>('SELECT data FROM ferry_jobs WHERE id = ?', [j.id]))
    expect(data[0]?.data).not.toMatch(/dispatchedBy|processedBy/)
    const got = await store.getJob(j.id)
    expect(got).toMatchObject({ meta, dispatchedBy: '1.4.2+build.7', processedBy: '1.5.0' })
    expect(got?.meta).toEqual(meta)
  })

  it('answers listJobs by version in dispatch order without a sort', async () => {
    const store = open()
    await manyWaiting(store, 1_000)
    for (const filter of [{ version: 'v1' }, { version: 'v1', state: 'waiting' }, { version: 'v1', state: ['waiting', 'failed'] }] as JobFilter[]) {
      const q = listJobsQuery({ ...filter, limit: 100 }, T0)
      if (!q) throw new Error('no query')
      const p = await plan(store, q.sql, q.bind)
      expect(p, JSON.stringify(filter)).not.toMatch(/TEMP B-TREE/)
    }
  })

  it('reads a job whose meta or versions were changed by hand without throwing; a queue leaves them out, marks the job unreadable and fails it', async () => {
    const store = open()
    const jobs = Array.from({ length: 6 }, (_, i) => newJob({ meta: { i }, dispatchedBy: 'v1' }))
    await store.insert({ now: T0, jobs })
    const damage: [string, SqlValue[]][] = [
      ["UPDATE ferry_jobs SET data = json_set(data, '$.meta', 'text') WHERE id = ?", [jobs[0]!.id]],
      ["UPDATE ferry_jobs SET data = json_set(data, '$.meta', json('[1,2]')) WHERE id = ?", [jobs[1]!.id]],
      ["UPDATE ferry_jobs SET data = json_set(data, '$.meta', json('{\"ok\":\"yes\",\"deep\":{\"a\":1}}')) WHERE id = ?", [jobs[2]!.id]],
      ["UPDATE ferry_jobs SET data = json_set(data, '$.meta', json('null')) WHERE id = ?", [jobs[3]!.id]],
      ["UPDATE ferry_jobs SET dispatched_by = x'76', processed_by = x'00ff' WHERE id = ?", [jobs[4]!.id]],
      // Versions in the data are not the record's: the columns are.
      ["UPDATE ferry_jobs SET data = json_set(data, '$.dispatchedBy', 'from-data', '$.processedBy', 7) WHERE id = ?", [jobs[5]!.id]],
    ]
    await store.transaction((tx) => {
      for (const [sql, bind] of damage) tx.exec(sql, bind)
    })
    // The store reads them as they are.
    const raw = await Promise.all(jobs.map((j) => store.getJob(j.id)))
    expect(raw.map((j) => j?.meta)).toEqual(['text', [1, 2], { ok: 'yes', deep: { a: 1 } }, null, { i: 4 }, { i: 5 }])
    expect(raw[4]?.dispatchedBy).toEqual(new Uint8Array([0x76]))
    expect(raw[5]).toMatchObject({ dispatchedBy: 'v1' })
    expect(raw[5]).not.toHaveProperty('processedBy')
    expect(await store.listJobs({ version: 'v1' }, T0)).toHaveLength(5)
    expect((await store.counts(T0)).waiting).toBe(6)

    const queue = createQueue({ store })
    const ran: string[] = []
    queue.register('t', (_p, ctx) => void ran.push(ctx.id))
    for (const j of jobs.slice(0, 5)) {
      const seen = await queue.getJob(j.id)
      expect(seen?.unreadable, j.id).toMatchObject({ code: 'CORRUPT_RECORD' })
    }
    expect(await queue.getJob(jobs[2]!.id)).not.toHaveProperty('meta')
    expect(await queue.getJob(jobs[4]!.id)).not.toHaveProperty('dispatchedBy')
    expect((await queue.getJob(jobs[5]!.id))?.unreadable).toBeUndefined()
    await queue.drain()
    expect(ran).toEqual([jobs[5]!.id])
    for (const j of jobs.slice(0, 5)) expect(await queue.getJob(j.id), j.id).toMatchObject({ state: 'failed', error: { code: 'CORRUPT_RECORD' } })
    await queue.close()
  })

  it('adds the runAt index and the version columns to a schema-4 file when it is opened; its jobs read with neither meta nor versions', async () => {
    const path = join(dir(), 'jobs.db')
    copyFileSync(fileURLToPath(new URL('../../fixtures/formats/sqlite-v4.db', import.meta.url)), path)
    const store = open(path)
    await store.open()
    const [version, indexes, columns] = await store.transaction((tx) => [
      tx.query<{ user_version: number }>('PRAGMA user_version')[0]?.user_version,
      tx.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'ferry_jobs_waiting_run_at'").map((r) => r.name),
      tx.query<{ name: string }>("SELECT name FROM pragma_table_info('ferry_jobs') WHERE name IN ('dispatched_by', 'processed_by') ORDER BY name").map((r) => r.name),
    ])
    expect(version).toBe(MIGRATIONS.length)
    expect(indexes).toEqual(['ferry_jobs_waiting_run_at'])
    expect(columns).toEqual(['dispatched_by', 'processed_by'])
    const jobs = await store.listJobs({ limit: 10_000 }, Date.now())
    expect(jobs.length).toBeGreaterThan(0)
    for (const j of jobs) {
      expect('meta' in j || 'dispatchedBy' in j || 'processedBy' in j, j.id).toBe(false)
    }
    const waiting = jobs.filter((j) => j.state === 'waiting')
    const expected = [...waiting]
      .sort((a, b) => a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq)
      .map((j) => j.id)
    const scopes = { queues: [...new Set(waiting.map((j) => j.queue))], types: [...new Set(waiting.map((j) => j.type))] }
    const out = await store.settleAndClaim({
      now: Date.now(),
      settle: [],
      claim: { owner: 'e', token: 'tok', ...scopes, limit: expected.length, leaseUntil: Date.now() + 60_000, order: 'runAt', version: '9.9.9' },
    })
    // Delayed jobs that came due join the waiting ones: the jobs that waited come in their order.
    const claimed = out.claimed.map((j) => j.id).filter((id) => expected.includes(id))
    expect(claimed).toEqual(expected.slice(0, claimed.length))
    for (const j of out.claimed) expect(j.processedBy).toBe('9.9.9')
  })
})
