/**
 * Retention on the SQLite store reads the retain index of migration 4, queue first: its queries
 * walk the index, forwards or backwards, with no sort and no table scan, and count from it; a
 * schema-2 or schema-3 file gets the index when it is opened, and its finished jobs (chains' and
 * batches' too) are found by it.
 */
import { copyFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { storeBackend } from '../../../src/core/define-store.js'
import type { StoreBackend } from '../../../src/core/store-backend.js'
import type { StoredJob } from '../../../src/core/store.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { MIGRATIONS } from '../../../src/storage/wasm-sqlite/schema.js'
import { SQL } from '../../../src/storage/wasm-sqlite/statements.js'
import type { SqlValue } from '../../../src/storage/wasm-sqlite/transaction.js'
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

describe('SQLite retention index', () => {
  it('answers the retention reads of one queue and state from ferry_jobs_retain_queue, in index order, without a sort', async () => {
    const store = open()
    for (const name of ['finishedOldest', 'finishedNewest'] as const) {
      const p = await plan(store, SQL[name], ['succeeded', 5000, 100, 1000, 'default'])
      expect(p, name).toMatch(/USING INDEX ferry_jobs_retain_queue \(queue=\? AND state=\? AND (finished_at>\? AND )?finished_at<\?\)/)
      expect(p, name).not.toMatch(/TEMP B-TREE/)
    }
    const count = await plan(store, SQL.finishedCount, ['default', 'succeeded'])
    expect(count).toMatch(/USING COVERING INDEX ferry_jobs_retain_queue \(queue=\? AND state=\?( AND finished_at>\?)?\)/)
  })

  it.each(['sqlite-v2.db', 'sqlite-v3.db'])('is added to %s when it is opened, and finds its finished jobs, chains and batches included', async (fixture) => {
    const path = join(dir(), 'jobs.db')
    copyFileSync(fileURLToPath(new URL(`../../fixtures/formats/${fixture}`, import.meta.url)), path)
    const store = open(path)
    await store.open()
    const [version, indexes, finished, queues] = await store.transaction((tx) => [
      tx.query<{ user_version: number }>('PRAGMA user_version')[0]?.user_version,
      tx.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'ferry_jobs_retain%'").map((r) => r.name),
      tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM ferry_jobs WHERE state IN ('succeeded', 'failed', 'cancelled')")[0]?.n ?? 0,
      tx.query<{ queue: string }>('SELECT DISTINCT queue FROM ferry_jobs').map((r) => r.queue),
    ])
    expect(version).toBe(MIGRATIONS.length)
    expect(indexes).toEqual(['ferry_jobs_retain_queue'])
    expect(finished).toBeGreaterThan(0)
    const backend = storeBackend(store) as StoreBackend
    const readAll = (): Promise<StoredJob[]> =>
      backend.read(async (tx) =>
        (await Promise.all(queues.flatMap((q) => (['succeeded', 'failed', 'cancelled'] as const).map((st) => tx.finished(q, st, { limit: 10_000 }))))).flat(),
      )
    const counted = await backend.read(async (tx) =>
      (await Promise.all(queues.flatMap((q) => (['succeeded', 'failed', 'cancelled'] as const).map((st) => tx.finishedCount(q, st))))).reduce((a, b) => a + b, 0),
    )
    const read = await readAll()
    expect(counted).toBe(finished)
    expect(read).toHaveLength(finished)
    // Deleted whole, group by group: nothing finished is left, nothing unfinished is touched.
    const keep = { succeeded: { count: 0 }, failed: { count: 0 }, cancelled: { count: 0 } }
    const before = await store.counts(Date.now())
    for (let i = 0; i < 100; i++) {
      const out = await store.settleAndClaim({ now: Date.now(), settle: [], retain: { keep, queues, limit: 100 } })
      if (!out.retained?.more) break
    }
    const after = await store.counts(Date.now())
    expect(after.waiting + after.delayed + after.blocked + after.active).toBe(before.waiting + before.delayed + before.blocked + before.active)
    const left = await readAll()
    // What is left belongs to chains and batches still running, or waiting for a callback job.
    for (const j of left) expect(j.chainId ?? j.batchId, j.id).toBeDefined()
  })

  it('keeps the newest 50 of 600 jobs an engine runs on a file', async () => {
    const store = open(join(dir(), 'engine.db'))
    const queue = createQueue({ store, concurrency: 8, retention: { succeeded: { count: 50 } } })
    queue.register('t', () => undefined)
    await queue.start()
    await queue.dispatchMany(Array.from({ length: 600 }, (_, n) => job('t', { n })))
    const left = async (): Promise<string> => {
      const c = await store.counts(Date.now())
      return `${c.waiting + c.active} to run, ${c.succeeded} succeeded`
    }
    await expect.poll(left, { timeout: 30_000 }).toBe('0 to run, 50 succeeded')
    await queue.close()
  })
})
