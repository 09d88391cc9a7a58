/**
 * SQLite may roll a whole transaction back on a full disk, an I/O error or out of memory. The
 * statements of a write that come after that must not run outside it, one by one in autocommit.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import type { NewJob } from '../../../src/core/store.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'

let dir: string
beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'ferry-rollback-'))))
afterEach(() => rmSync(dir, { recursive: true, force: true }))

const newJob = (id: string, bytes: number): NewJob => ({
  id,
  type: 't',
  queue: 'q',
  payload: 'x'.repeat(bytes),
  priority: 0,
  maxAttempts: 1,
  backoff: 0,
  runAt: 0,
})

async function limitPages(store: SqliteStore, extra: number): Promise<void> {
  const pages = await store.transaction((tx) => Number(tx.query<{ page_count: number }>('PRAGMA page_count')[0]?.page_count))
  await store.transaction((tx) => tx.exec(`PRAGMA max_page_count = ${pages + extra}`))
}

for (const where of ['file', 'memory'] as const) {
  it(`writes nothing of an insert that fills the database, and dispatches work again after (${where})`, async () => {
    const store = sqliteStore(where === 'file' ? { path: join(dir, 'q.db') } : {})
    try {
      await store.insert({ now: 0, jobs: [newJob('warm', 10)] })
      await limitPages(store, 40)
      await expect(store.insert({ now: 0, jobs: Array.from({ length: 200 }, (_, i) => newJob(`a${i}`, 3000 + i)) })).rejects.toMatchObject({
        code: 'STORAGE_FULL',
      })
      expect((await store.counts(0)).waiting).toBe(1)
      await store.transaction((tx) => tx.exec('PRAGMA max_page_count = 1000000'))
      for (let i = 0; i < 250; i++) await store.insert({ now: 0, jobs: [newJob(`b${i}`, 10)] })
      expect((await store.counts(0)).waiting).toBe(251)
      const [row] = await store.transaction((tx) =>
        tx.query<{ counter: number; top: number }>("SELECT (SELECT value FROM ferry_meta WHERE key = 'seq') AS counter, MAX(seq) AS top FROM ferry_jobs"),
      )
      expect(row?.counter).toBeGreaterThanOrEqual(row?.top ?? Infinity)
    } finally {
      await store.close()
    }
  })
}

it('refuses a dispatch joined to an application transaction that SQLite has rolled back', async () => {
  const store = sqliteStore({ path: join(dir, 'q.db') })
  try {
    await store.insert({ now: 0, jobs: [newJob('warm', 10)] })
    await limitPages(store, 40)
    const outcome = store.transaction(async (tx) => {
      await store.insert({ now: 0, jobs: Array.from({ length: 200 }, (_, i) => newJob(`a${i}`, 3000 + i)) }, { tx }).catch(() => undefined)
      // The transaction is gone: this write must not open and commit one of its own.
      await store.insert({ now: 0, jobs: [newJob('after', 10)] }, { tx })
    })
    await expect(outcome).rejects.toBeDefined()
    await store.transaction((tx) => tx.exec('PRAGMA max_page_count = 1000000'))
    expect((await store.counts(0)).waiting).toBe(1)
    expect(await store.getJob('after')).toBeUndefined()
  } finally {
    await store.close()
  }
})
