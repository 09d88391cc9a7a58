/**
 * Retention on the SQLite store reads the retain index of migration 3: its queries walk the
 * index, forwards or backwards, with no sort and no table scan; a schema-2 file gets the index
 * when it is opened, and its finished jobs (chains' and batches' too) are found by it.
 */
import { copyFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { storeBackend } from '../../../src/core/define-store.js'
import type { StoreBackend } from '../../../src/core/store-backend.js'
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
  it('answers both retention reads from ferry_jobs_retain, in index order, without a sort', async () => {
    const store = open()
    for (const name of ['finishedOldest', 'finishedNewest'] as const) {
      const p = await plan(store, SQL[name], ['succeeded', 5000, 100, 1000])
      expect(p, name).toMatch(/USING INDEX ferry_jobs_retain \(state=\? AND (finished_at>\? AND )?finished_at<\?\)/)
      expect(p, name).not.toMatch(/TEMP B-TREE/)
    }
  })

  it('is added to a schema-2 file when it is opened, and finds its finished jobs, chains and batches included', async () => {
    const path = join(dir(), 'jobs.db')
    copyFileSync(fileURLToPath(new URL('../../fixtures/formats/sqlite-v2.db', import.meta.url)), path)
    const store = open(path)
    await store.open()
    const [version, indexes, finished] = await store.transaction((tx) => [
      tx.query<{ user_version: number }>('PRAGMA user_version')[0]?.user_version,
      tx.query<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name = 'ferry_jobs_retain'").map((r) => r.name),
      tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM ferry_jobs WHERE state IN ('succeeded', 'failed', 'cancelled')")[0]?.n ?? 0,
    ])
    expect(version).toBe(MIGRATIONS.length)
    expect(indexes).toEqual(['ferry_jobs_retain'])
    expect(finished).toBeGreaterThan(0)
    const backend = storeBackend(store) as StoreBackend
    const read = await backend.read(async (tx) =>
      (await Promise.all((['succeeded', 'failed', 'cancelled'] as const).map((st) => tx.finished(st, { limit: 10_000 })))).flat(),
    )
    expect(read).toHaveLength(finished)
    // Deleted whole, group by group: nothing finished is left, nothing unfinished is touched.
    const keep = { succeeded: { count: 0 }, failed: { count: 0 }, cancelled: { count: 0 } }
    const before = await store.counts(Date.now())
    for (let i = 0; i < 100; i++) {
      const out = await store.settleAndClaim({ now: Date.now(), settle: [], retain: { keep, limit: 100 } })
      if (!out.retained?.more) break
    }
    const after = await store.counts(Date.now())
    expect(after.waiting + after.delayed + after.blocked + after.active).toBe(before.waiting + before.delayed + before.blocked + before.active)
    const left = await backend.read(async (tx) =>
      (await Promise.all((['succeeded', 'failed', 'cancelled'] as const).map((st) => tx.finished(st, { limit: 10_000 })))).flat(),
    )
    // What is left belongs to chains and batches still running.
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
