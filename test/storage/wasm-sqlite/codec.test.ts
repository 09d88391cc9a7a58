import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DATA, PAYLOAD, jobFromRow, jobToRow } from '../../../src/storage/wasm-sqlite/rows.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { newJob } from '../../../src/testing/contract/harness.js'
import type { StoredJob } from '../../../src/core/store.js'
import { aesKey, codecScenarios, corruptRecordScenarios } from '../../core/codec-scenarios.js'
import { createQueue, encryptedCodec, job } from '../../../src/index.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs('ferry-codec-')

/**
 * A Node file store on one path; `raw` reads every row of every table through a store of its
 * own, and every byte of the database's files, so nothing the engine wrote escapes the check.
 */
function fileTarget(): {
  path: string
  open(): SqliteStore
  raw(): Promise<string>
  sql(fn: (s: SqliteStore) => Promise<void>): Promise<void>
  /** The store `open` made last. */
  current(): SqliteStore | undefined
} {
  const d = dir()
  const path = join(d, 'jobs.db')
  let current: SqliteStore | undefined
  const open = (): SqliteStore => (current = sqliteStore({ path }))
  /** Runs `fn` on a store of its own, the open one closed first (the file is locked to one). */
  const sql = async (fn: (s: SqliteStore) => Promise<void>): Promise<void> => {
    await current?.close()
    const s = sqliteStore({ path })
    try {
      await fn(s)
    } finally {
      await s.close()
    }
  }
  return {
    path,
    open,
    sql,
    current: () => current,
    async raw() {
      let rows = ''
      await sql(async (s) => {
        rows = await s.transaction((tx) => {
          const tables = tx.query("SELECT name FROM sqlite_master WHERE type = 'table'").map((r) => r['name'] as string)
          return JSON.stringify(tables.map((t) => tx.query(`SELECT * FROM ${t}`)))
        })
      })
      const files = readdirSync(d).map((f) => readFileSync(join(d, f)).toString('latin1'))
      return rows + files.join('\n')
    },
  }
}

codecScenarios('the SQLite file store (Node)', fileTarget)

corruptRecordScenarios('the SQLite file store (Node)', () => {
  const t = fileTarget()
  return {
    ...t,
    open: () => t.open(),
    // Through the queue's own store: the file is locked to one connection.
    corrupt: (id) =>
      t.current()!.transaction((tx) => {
        tx.query("UPDATE ferry_jobs SET data = '{\"attempt\": ' WHERE id = ?", [id])
      }),
  }
})

describe('encryptedCodec and transactional enqueue on SQLite', () => {
  it("writes the encrypted job in the application's transaction", async () => {
    const t = fileTarget()
    const store = t.open()
    const queue = createQueue({ store, codec: encryptedCodec(await aesKey()) })
    try {
      const id = await store.transaction(async (tx) => {
        tx.query('CREATE TABLE photos (id TEXT PRIMARY KEY)')
        tx.query("INSERT INTO photos VALUES ('p1')")
        return (await queue.dispatch(job('photo:upload', { photo: 'PHOTO-SECRET' }), { tx })).id
      })
      expect((await queue.getJob(id))?.payload).toEqual({ photo: 'PHOTO-SECRET' })
      const rows = await store.transaction((tx) => JSON.stringify(tx.query('SELECT * FROM ferry_jobs')))
      expect(rows).toContain(id)
      expect(rows).not.toContain('PHOTO-SECRET')
    } finally {
      await queue.close()
    }
  })
})

describe('a SQLite job row that cannot be read', () => {
  const row = (change: (r: unknown[]) => void): unknown[] => {
    const j: StoredJob = { ...newJob({ id: 'j1', payload: { a: 1 } }), seq: 7, state: 'waiting', attempt: 1, createdAt: 5, backoff: 0 }
    const r = jobToRow(j)
    change(r)
    return r
  }

  it('is read from its columns, marked unreadable with CORRUPT_RECORD, whatever is wrong with it', () => {
    const cases: [string, (r: unknown[]) => void][] = [
      ['data that does not parse', (r) => (r[DATA] = '{"attempt": 1,')],
      ['data that is not an object', (r) => (r[DATA] = '[1, 2]')],
      ['data without the fields the engine needs', (r) => (r[DATA] = '{}')],
      ['data with fields of the wrong type', (r) => (r[DATA] = '{"attempt": "1", "maxAttempts": 3, "backoff": 0}')],
      ['a payload that does not parse', (r) => (r[PAYLOAD] = '{"a": ')],
    ]
    for (const [what, change] of cases) {
      const j = jobFromRow(row(change) as never)
      expect(j, what).toMatchObject({ id: 'j1', seq: 7, state: 'waiting', type: newJob().type, unreadable: { name: 'SerializationError', code: 'CORRUPT_RECORD' } })
      expect(j.unreadable?.message, what).toContain('j1')
      expect(typeof j.attempt, what).toBe('number')
      expect(typeof j.maxAttempts, what).toBe('number')
    }
  })

  it('reads a sound row as it was written, without unreadable', () => {
    const j = jobFromRow(row(() => undefined) as never)
    expect(j.unreadable).toBeUndefined()
    expect(j).toMatchObject({ id: 'j1', payload: { a: 1 }, attempt: 1 })
  })

  it('never makes listJobs or counts throw', async () => {
    const t = fileTarget()
    let s = t.open()
    const jobs = [newJob({ id: 'ok' }), newJob({ id: 'bad' })]
    await s.insert({ now: 1, jobs })
    await t.sql(async (raw) => {
      await raw.transaction((tx) => {
        tx.query("UPDATE ferry_jobs SET data = 'not json', payload = 'nor this' WHERE id = 'bad'")
      })
    })
    s = t.open()
    const listed = await s.listJobs({}, 2)
    expect(listed.map((j) => [j.id, j.unreadable?.code])).toEqual([
      ['ok', undefined],
      ['bad', 'CORRUPT_RECORD'],
    ])
    expect(Object.values(await s.counts(2)).reduce((a, b) => a + b)).toBe(2)
    await s.close()
  })
})
