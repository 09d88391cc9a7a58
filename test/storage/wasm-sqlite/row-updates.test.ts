import { afterEach, describe, expect, it } from 'vitest'
import { storeBackend } from '../../../src/core/define-store.js'
import type { StoreBackend, StoreTx } from '../../../src/core/store-backend.js'
import type { StoredJob } from '../../../src/core/store.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { JOB_COLUMNS } from '../../../src/storage/wasm-sqlite/rows.js'
import { T0, newJob } from '../../../src/testing/contract/harness.js'

/**
 * Which columns each write to ferry_jobs names: an `UPDATE OF <column>` trigger fires when the
 * statement sets that column, whatever the value, so the log shows what the write touched
 * (and so which indexes SQLite had to rewrite).
 */
async function logColumnWrites(store: SqliteStore): Promise<void> {
  await store.transaction((tx) => {
    tx.exec('CREATE TABLE set_log (n INTEGER PRIMARY KEY, col TEXT)')
    for (const c of JOB_COLUMNS) {
      tx.exec(`CREATE TRIGGER set_${c} AFTER UPDATE OF ${c} ON ferry_jobs BEGIN INSERT INTO set_log (col) VALUES ('${c}'); END`)
    }
  })
}

async function takeLog(store: SqliteStore): Promise<string[]> {
  return store.transaction((tx) => {
    const cols = tx.query<{ col: string }>('SELECT col FROM set_log ORDER BY n').map((r) => r.col)
    tx.exec('DELETE FROM set_log')
    return cols
  })
}

const opened: SqliteStore[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})

async function setup(jobs = [newJob()]): Promise<{ store: SqliteStore; backend: StoreBackend; jobs: StoredJob[] }> {
  const store = sqliteStore()
  opened.push(store)
  await store.insert({ now: T0, jobs })
  await logColumnWrites(store)
  const stored = await Promise.all(jobs.map(async (j) => (await store.getJob(j.id)) as StoredJob))
  return { store, backend: storeBackend(store) as StoreBackend, jobs: stored }
}

const lease = { owner: 'engine-1', token: 'tok-1', until: T0 + 30_000 }

describe('a put of a job read in the same transaction', () => {
  it('sets only the columns that changed, and the row reads back whole', async () => {
    const { store, backend, jobs } = await setup([newJob({ payload: { big: 'x'.repeat(1000) }, uniqueKey: 'u1' })])
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      const read = (await tx.getJob(j.id)) as StoredJob
      await tx.putJob({ ...read, state: 'active', lease, attempt: 1, startedAt: T0 })
    })
    expect((await takeLog(store)).sort()).toEqual(['data', 'lease_owner', 'lease_token', 'lease_until', 'state'])
    expect(await store.getJob(j.id)).toEqual({ ...j, state: 'active', lease, attempt: 1, startedAt: T0 })
  })

  it('writes the payload only when it is another value', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      const read = (await tx.getJob(j.id)) as StoredJob
      await tx.putJob({ ...read, payload: { changed: true } })
    })
    expect(await takeLog(store)).toEqual(['payload'])
    expect((await store.getJob(j.id))?.payload).toEqual({ changed: true })
  })

  it('runs nothing when nothing changed', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      const read = (await tx.getJob(j.id)) as StoredJob
      await tx.putJob({ ...read })
    })
    expect(await takeLog(store)).toEqual([])
  })

  it('remembers the rows of ready, due, expired, findUnique, listJobs and finishedBefore', async () => {
    const { store, backend } = await setup([])
    const waiting = newJob()
    const delayed = newJob({ runAt: T0 + 10 })
    const unique = newJob({ uniqueKey: 'k', uniqueUntil: T0 + 60_000 })
    await store.insert({ now: T0, jobs: [waiting, delayed, unique] })
    const reads: [string, (tx: StoreTx) => Promise<StoredJob[]>][] = [
      ['ready', (tx) => tx.ready({ queues: ['default'], types: ['t'] }, 10)],
      ['due', (tx) => tx.due(['default'], T0 + 10, 10)],
      ['findUnique', async (tx) => [(await tx.findUnique('k', T0)) as StoredJob]],
      ['listJobs', (tx) => tx.listJobs({}, T0)],
    ]
    for (const [, read] of reads) {
      await backend.write(async (tx) => {
        for (const j of await read(tx)) await tx.putJob({ ...j, priority: j.priority + 1 })
      })
      const log = await takeLog(store)
      expect(new Set(log)).toEqual(new Set(['priority']))
    }
    // Active with an expired lease, then finished: the two other reads.
    await backend.write(async (tx) => {
      const j = (await tx.getJob(waiting.id)) as StoredJob
      await tx.putJob({ ...j, state: 'active', lease: { ...lease, until: T0 + 1 } })
    })
    await takeLog(store)
    await backend.write(async (tx) => {
      for (const j of await tx.expired({ queues: ['default'], types: ['t'] }, T0 + 5, 10)) await tx.putJob({ ...j, state: 'succeeded', lease: undefined, finishedAt: T0 + 5 })
    })
    expect((await takeLog(store)).sort()).toEqual(['finished_at', 'lease_owner', 'lease_token', 'lease_until', 'state'])
    await backend.write(async (tx) => {
      for (const j of await tx.finishedBefore(T0 + 6, 10)) await tx.putJob({ ...j, priority: 9 })
    })
    expect(await takeLog(store)).toEqual(['priority'])
  })

  it('re-creates a job deleted after it was read', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      const read = (await tx.getJob(j.id)) as StoredJob
      await tx.deleteJob(j.id)
      await tx.putJob({ ...read, priority: 3 })
    })
    expect(await store.getJob(j.id)).toEqual({ ...j, priority: 3 })
  })

  it('puts a job read twice, with writes in between, as the last write left it', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      const first = (await tx.getJob(j.id)) as StoredJob
      await tx.putJob({ ...first, priority: 5, state: 'delayed', runAt: T0 + 100 })
      await tx.putJob({ ...first })
    })
    expect(await store.getJob(j.id)).toEqual(j)
  })
})

describe('a put of a job not read in the transaction', () => {
  it('writes the whole row', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => tx.putJob({ ...j, priority: 2 }))
    expect(new Set(await takeLog(store))).toEqual(new Set(JOB_COLUMNS.filter((c) => c !== 'id')))
    expect(await store.getJob(j.id)).toEqual({ ...j, priority: 2 })
  })

  it('after a commit: rows read by an earlier transaction are not trusted', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await backend.write(async (tx) => {
      await tx.getJob(j.id)
    })
    await store.transaction((tx) => tx.exec('UPDATE ferry_jobs SET priority = 5 WHERE id = ?', [j.id]))
    // j still says priority 0: the store must write it, not take the earlier read for the row.
    await backend.write(async (tx) => tx.putJob({ ...j }))
    expect((await store.getJob(j.id))?.priority).toBe(0)
  })

  it('after a rollback: what the rolled-back transaction read and wrote is forgotten', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    const err = await backend
      .write(async (tx) => {
        const read = (await tx.getJob(j.id)) as StoredJob
        await tx.putJob({ ...read, state: 'active', lease })
        throw new Error('boom')
      })
      .catch((e: unknown) => e)
    expect((err as Error).message).toMatch(/boom/)
    expect(await store.getJob(j.id)).toEqual(j)
    // Had the write above been remembered, this put would find nothing changed.
    await backend.write(async (tx) => tx.putJob({ ...j, state: 'active', lease }))
    expect(await store.getJob(j.id)).toEqual({ ...j, state: 'active', lease })
  })

  it('in a joined transaction: the application\'s own SQL between two writes is not overwritten by a stale read', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await store.transaction(async (tx) => {
      await backend.write(async (stx) => {
        await stx.getJob(j.id)
      }, { tx })
      tx.exec('UPDATE ferry_jobs SET priority = 5 WHERE id = ?', [j.id])
      await backend.write(async (stx) => stx.putJob({ ...j }), { tx })
    })
    expect((await store.getJob(j.id))?.priority).toBe(0)
  })

  it('in a joined transaction: a write rolled back to its savepoint is forgotten', async () => {
    const { store, backend, jobs } = await setup()
    const j = jobs[0] as StoredJob
    await store.transaction(async (tx) => {
      await backend
        .write(async (stx) => {
          const read = (await stx.getJob(j.id)) as StoredJob
          await stx.putJob({ ...read, priority: 4 })
          throw new Error('boom')
        }, { tx })
        .catch(() => undefined)
      await backend.write(async (stx) => stx.putJob({ ...j, priority: 4 }), { tx })
    })
    expect((await store.getJob(j.id))?.priority).toBe(4)
  })
})
