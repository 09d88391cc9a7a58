/**
 * The Postgres backend on PGlite: how many statements a write sends, that a write sees its own
 * buffered writes, that damaged rows are read and never thrown, and that driver failures are
 * ferry's storage errors.
 */
import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import { SerializationError, StorageError } from '../../../src/core/errors.js'
import type { Store, StoredJob } from '../../../src/core/store.js'
import { PostgresBackend } from '../../../src/storage/postgres/backend.js'
import type { Driver, Sql } from '../../../src/storage/postgres/driver.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import { MIGRATIONS } from '../../../src/storage/postgres/migrations.js'
import { claimRequest, newBatch, newChain, newJob, T0 } from '../../../src/testing/contract/harness.js'

// One PGlite for the file, a schema per test: starting PGlite takes seconds on a busy machine.
let db: PGlite
beforeAll(async () => {
  db = await PGlite.create()
}, 60_000)
afterAll(() => db.close())
let schemas = 0

/** A driver that records every statement it sends, BEGIN and COMMIT included. */
function counting(inner: Driver): Driver & { log: string[] } {
  const log: string[] = []
  const wrap = (sql: Sql): Sql => ({
    query<R>(text: string, params?: readonly unknown[]) {
      log.push(text)
      return sql.query<R>(text, params)
    },
  })
  return {
    log,
    kind: inner.kind,
    async transaction(fn) {
      log.push('BEGIN')
      const out = await inner.transaction((sql) => fn(wrap(sql)))
      log.push('COMMIT')
      return out
    },
    query: (text, params) => wrap(inner).query(text, params),
    joined: (tx) => wrap(inner.joined(tx)),
    session: () => inner.session(),
    close: () => inner.close(),
  }
}

async function fresh(wrapDriver: (d: Driver) => Driver = (d) => d): Promise<{ schema: string; backend: PostgresBackend; store: Store }> {
  const schema = `backend_${++schemas}`
  await db.exec(`CREATE SCHEMA "${schema}"; ${MIGRATIONS.map((m) => m(schema)).join(';\n')}`)
  const backend = new PostgresBackend({ driver: wrapDriver(pgliteDriver(db)), schema, ready: () => Promise.resolve() })
  return { schema, backend, store: defineStore(backend) }
}

describe('round trips', () => {
  // BEGIN; the settled jobs, read and locked together; due schedules, due delayed jobs, expired
  // leases, ready jobs (the settled jobs left out, not sent first); all the new rows; COMMIT.
  it('an engine turn that settles 5 jobs and claims 5 more sends 8 statements, BEGIN and COMMIT included', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store } = await fresh((d) => (driver = counting(d)))
    const log = driver!.log
    await store.insert({ now: T0, jobs: Array.from({ length: 10 }, () => newJob()) })
    const first = await store.settleAndClaim({ now: T0, settle: [], claim: claimRequest(T0, { limit: 5 }) })
    expect(first.claimed).toHaveLength(5)
    log.length = 0
    const turn = await store.settleAndClaim({
      now: T0 + 1,
      settle: first.claimed.map((j) => ({ id: j.id, token: j.lease!.token, outcome: { kind: 'succeeded' as const } })),
      claim: claimRequest(T0 + 1, { limit: 5 }),
    })
    expect(turn.claimed).toHaveLength(5)
    expect(turn.lost).toEqual([])
    expect(log, log.join('\n')).toHaveLength(8)
  })

  // BEGIN; due schedules, due delayed jobs, expired leases, ready jobs; the new rows and the
  // next wake-up in one statement (the wake-up read leaves the rows written out and reckons
  // them in memory); COMMIT.
  it('an engine turn whose claim has room sends its writes and the wake-up query as one statement: 7 in all', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store } = await fresh((d) => (driver = counting(d)))
    const log = driver!.log
    await store.insert({ now: T0, jobs: [newJob()] })
    log.length = 0
    const turn = await store.settleAndClaim({ now: T0, settle: [], claim: claimRequest(T0, { limit: 2, leaseUntil: T0 + 900 }) })
    expect(turn.claimed).toHaveLength(1)
    expect(turn.nextWakeAt).toBe(T0 + 900)
    expect(log, log.join('\n')).toHaveLength(7)
  })

  it('reckons the wake-up from what the turn wrote: a retry it delayed, a lease it took, a lease it ended', async () => {
    const { store } = await fresh()
    await store.insert({ now: T0, jobs: [newJob(), newJob(), newJob({ runAt: T0 + 5000 })] })
    const first = await store.settleAndClaim({ now: T0, settle: [], claim: claimRequest(T0, { limit: 2, leaseUntil: T0 + 700 }) })
    expect(first.claimed).toHaveLength(2)
    const [a, b] = first.claimed
    // a fails (its retry is due at T0 + 10 + 1000), b succeeds: its lease at T0 + 700 ends with it.
    const turn = await store.settleAndClaim({
      now: T0 + 10,
      settle: [
        { id: a!.id, token: a!.lease!.token, outcome: { kind: 'failed', error: { name: 'Error', message: 'boom' } } },
        { id: b!.id, token: b!.lease!.token, outcome: { kind: 'succeeded' } },
      ],
      claim: claimRequest(T0 + 10, { limit: 2, leaseUntil: T0 + 3000 }),
    })
    expect(turn.claimed).toEqual([])
    expect(turn.nextWakeAt).toBe(T0 + 10 + 1000)
    // Nothing claimed, nothing delayed but the job due at T0 + 5000: the lease taken now ends first.
    await store.insert({ now: T0, jobs: [newJob({ type: 'u' })] })
    const next = await store.settleAndClaim({ now: T0 + 20, settle: [], claim: claimRequest(T0 + 20, { types: ['u'], limit: 2, leaseUntil: T0 + 800 }) })
    expect(next.claimed).toHaveLength(1)
    expect(next.nextWakeAt).toBe(T0 + 800)
  })

  // BEGIN; the ids read and locked, those not found locked by their hash and read again, in one
  // statement; a range of dispatch numbers; the rows; COMMIT. Whatever the number of jobs.
  it('a dispatch of new jobs sends 5 statements, BEGIN and COMMIT included, for 1 job or 100', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store } = await fresh((d) => (driver = counting(d)))
    const log = driver!.log
    await store.insert({ now: T0, jobs: [newJob()] })
    expect(log, log.join('\n')).toHaveLength(5)
    log.length = 0
    await store.insert({ now: T0, jobs: Array.from({ length: 100 }, () => newJob()) })
    expect(log, log.join('\n')).toHaveLength(5)
  })

  it('sends the puts and deletes of a write as one statement, whatever their number', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store } = await fresh((d) => (driver = counting(d)))
    const log = driver!.log
    await store.insert({ now: T0, jobs: Array.from({ length: 300 }, () => newJob()) })
    const writes = log.filter((s) => /^(WITH|INSERT|DELETE|UPDATE)/.test(s) && !s.includes('next_seq'))
    expect(writes).toHaveLength(1)
    expect((await store.listJobs({ limit: 1000 }, T0)).length).toBe(300)
  })

  it('reads the jobs asked for together with one query', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store, backend } = await fresh((d) => (driver = counting(d)))
    const jobs = Array.from({ length: 20 }, () => newJob())
    await store.insert({ now: T0, jobs })
    const log = driver!.log
    log.length = 0
    const found = await backend.write((tx) => Promise.all(jobs.map((j) => tx.getJob(j.id))))
    expect(found.map((j) => j?.id)).toEqual(jobs.map((j) => j.id))
    expect(log).toHaveLength(3)
  })

  it('reads the next due job, lease end and schedule asked for together with one query', async () => {
    let driver: ReturnType<typeof counting> | undefined
    const { store, backend } = await fresh((d) => (driver = counting(d)))
    await store.insert({ now: T0, jobs: [newJob({ runAt: T0 + 500 }), newJob({ type: 'u' })] })
    await store.settleAndClaim({ now: T0, settle: [], claim: claimRequest(T0, { types: ['u'], leaseUntil: T0 + 900 }) })
    const log = driver!.log
    log.length = 0
    const times = await backend.read((tx) =>
      Promise.all([tx.nextDue(['default']), tx.nextScheduleAt(), tx.nextExpiry({ queues: ['default'], types: ['u'] }, T0)]),
    )
    expect(times).toEqual([T0 + 500, undefined, T0 + 900])
    expect(log).toHaveLength(3)
  })
})

describe('a write sees its own writes', () => {
  it('finds a job it put through getJob, ready, listJobs and counts before anything is sent', async () => {
    const { backend } = await fresh()
    const out = await backend.write(async (tx) => {
      const seq = await tx.nextSeq()
      const j = { ...newJob(), seq, state: 'waiting', attempt: 0, createdAt: T0 } as StoredJob
      void tx.putJob(j)
      const [byId, ready, listed, counts] = await Promise.all([
        tx.getJob(j.id),
        tx.ready({ queues: ['default'], types: ['t'] }, 10),
        tx.listJobs({ state: 'waiting' }, T0),
        tx.counts(T0),
      ])
      await tx.deleteJob(j.id)
      return { byId, ready, listed, counts, after: await tx.getJob(j.id), listedAfter: await tx.listJobs({}, T0) }
    })
    expect(out.byId?.state).toBe('waiting')
    expect(out.ready.map((j) => j.id)).toEqual([out.byId?.id])
    expect(out.listed.map((j) => j.id)).toEqual([out.byId?.id])
    expect(out.counts.waiting).toBe(1)
    expect(out.after).toBeUndefined()
    expect(out.listedAfter).toEqual([])
  })

  it('answers a read issued before a put with the row as it was, and one issued after with the put', async () => {
    const { store, backend } = await fresh()
    const j = newJob()
    await store.insert({ now: T0, jobs: [j] })
    const stored = (await store.getJob(j.id))!
    const [before, after] = await backend.write(async (tx) => {
      const read = tx.getJob(j.id)
      void tx.putJob({ ...stored, priority: 7 })
      return [await read, await tx.getJob(j.id)]
    })
    expect(before?.priority).toBe(0)
    expect(after?.priority).toBe(7)
    expect((await store.getJob(j.id))?.priority).toBe(7)
  })

  it('leaves nothing behind when the write throws after its puts were sent', async () => {
    const { store, backend } = await fresh()
    const j = newJob()
    await store.insert({ now: T0, jobs: [j] })
    const stored = (await store.getJob(j.id))!
    await expect(
      backend.write(async (tx) => {
        await tx.putJob({ ...stored, priority: 9 })
        await tx.listJobs({}, T0)
        throw new Error('no')
      }),
    ).rejects.toThrow('no')
    expect((await store.getJob(j.id))?.priority).toBe(0)
  })
})

describe('damaged rows', () => {
  it('reads a job whose data is not a record as unreadable (CORRUPT_RECORD), in listings and counts too', async () => {
    const { schema, store } = await fresh()
    const [a, b] = [newJob(), newJob()]
    await store.insert({ now: T0, jobs: [a, b] })
    await db.query(`UPDATE "${schema}"."jobs" SET data = '[1]' WHERE id = $1`, [a.id])
    await db.query(`UPDATE "${schema}"."jobs" SET data = '{"attempt":"x"}', payload = '"kept"' WHERE id = $1`, [b.id])
    const ja = await store.getJob(a.id)
    expect(ja?.unreadable?.code).toBe('CORRUPT_RECORD')
    expect(ja?.unreadable?.message).toContain('not a JSON object')
    expect(ja?.state).toBe('waiting')
    const jb = await store.getJob(b.id)
    expect(jb?.unreadable?.message).toContain('attempt')
    expect(jb?.payload).toBe('kept')
    const listed = await store.listJobs({ state: 'waiting' }, T0)
    expect(listed.map((j) => j.unreadable?.code)).toEqual(['CORRUPT_RECORD', 'CORRUPT_RECORD'])
    expect((await store.counts(T0)).waiting).toBe(2)
  })

  it('reads a damaged chain, batch and schedule as unreadable; the store refuses to show the groups in full', async () => {
    const { schema, store } = await fresh()
    const chain = newChain([newJob(), newJob()])
    const batch = newBatch([newJob()])
    await store.insert({ now: T0, jobs: [], chains: [chain], batches: [batch] })
    await db.query(`UPDATE "${schema}"."chains" SET data = '"x"'`)
    await db.query(`UPDATE "${schema}"."batches" SET data = '{}'`)
    await expect(store.getChain(chain.id)).rejects.toBeInstanceOf(SerializationError)
    await expect(store.getBatch(batch.id)).rejects.toBeInstanceOf(SerializationError)
    await db.query(`INSERT INTO "${schema}"."schedules" (name, next_run_at, data) VALUES ('s', 5, '{"when":1}')`)
    const [s] = await store.listSchedules()
    expect(s?.unreadable?.code).toBe('CORRUPT_RECORD')
  })
})

describe('errors', () => {
  it('a failing connection is a StorageError with the driver error as cause', async () => {
    const down = new Error('Connection terminated unexpectedly')
    const { store } = await fresh((d) => ({
      ...d,
      transaction: () => Promise.reject(down),
      query: () => Promise.reject(down),
    }))
    const err = await store.getJob('x').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(StorageError)
    expect((err as StorageError).cause).toBe(down)
    await expect(store.insert({ now: T0, jobs: [newJob()] })).rejects.toBeInstanceOf(StorageError)
  })

  it('a statement Postgres refuses is a StorageError naming the schema and the SQLSTATE', async () => {
    const { schema, store } = await fresh()
    await db.exec(`DROP TABLE "${schema}"."jobs" CASCADE`)
    const err = await store.listJobs({}, T0).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(StorageError)
    expect((err as StorageError).message).toContain(schema)
    expect((err as StorageError).code).toBe('PG_42P01')
  })

  it('runs a write again after a deadlock, and once only after it succeeds', async () => {
    let failures = 1
    let runs = 0
    const { store } = await fresh((d) => ({
      ...d,
      transaction: (fn) =>
        d.transaction(async (sql) => {
          runs += 1
          return fn({
            query(text, params) {
              if (failures > 0 && text.includes('next_seq')) {
                failures -= 1
                return Promise.reject(Object.assign(new Error('deadlock detected'), { code: '40P01' }))
              }
              return sql.query(text, params)
            },
          })
        }),
    }))
    const j = newJob()
    const out = await store.insert({ now: T0, jobs: [j] })
    expect(out.results).toEqual([{ id: j.id, duplicate: false }])
    expect(runs).toBe(2)
    expect((await store.listJobs({}, T0)).map((x) => x.id)).toEqual([j.id])
  })
})
