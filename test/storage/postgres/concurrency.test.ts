/**
 * Two stores on one real PostgreSQL server, each with a pool of its own, as two processes
 * would be: what one transaction locks the other skips or waits for, so a job is never claimed
 * twice, an id or a unique key is never inserted twice, and dispatch numbers never overlap.
 */
import { describe, expect, it } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import { fireSchedules } from '../../../src/core/operations/schedules.js'
import type { Store, StoredJob, StoredSchedule } from '../../../src/core/store.js'
import { Changes } from '../../../src/core/transitions.js'
import { PostgresBackend } from '../../../src/storage/postgres/backend.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { claimRequest, draft, kinds, newJob, T0 } from '../../../src/testing/contract/harness.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pools = [testPool({ max: 4 }), testPool({ max: 4 })] as const

/** One backend per pool on a fresh schema (or this one): two processes sharing one database. */
async function pair(schema = freshSchema()): Promise<[PostgresBackend, PostgresBackend]> {
  await migrate(pgDriver(pools[0]), schema)
  return pools.map((pool) => new PostgresBackend({ driver: pgDriver(pool), schema, ready: () => Promise.resolve() })) as [PostgresBackend, PostgresBackend]
}

const MIN = 60_000

function every(name: string, ms: number): StoredSchedule {
  return { name, when: { every: ms }, catchUp: 'once', job: draft('t'), nextRunAt: T0 + ms, createdAt: T0, updatedAt: T0 }
}

/** Resolves once a statement on `schema` waits for a lock another transaction holds, or `stop` says so. */
async function waitingOnLock(schema: string, stop: { done: boolean }): Promise<'waited' | undefined> {
  while (!stop.done) {
    const { rows } = await pools[0].query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'",
      [`"${schema}".`],
    )
    if (Number(rows[0]?.n) > 0) return 'waited'
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return undefined
}

/** Claims and settles until a claim finds nothing; returns every job it claimed. */
async function drain(store: Store, owner: string, types: string[]): Promise<string[]> {
  const taken: string[] = []
  let held: StoredJob[] = []
  for (let now = T0; ; now++) {
    const out = await store.settleAndClaim({
      now,
      settle: held.map((j) => ({ id: j.id, token: j.lease!.token, outcome: { kind: 'succeeded' as const } })),
      claim: claimRequest(now, { owner, types, limit: 7 }),
    })
    expect(out.lost).toEqual([])
    held = out.claimed
    taken.push(...held.map((j) => j.id))
    if (held.length === 0) return taken
  }
}

describe('two stores on one server', () => {
  it.each([
    ['one type', ['t']],
    ['two types', ['t', 'u']],
  ])('never claim one job twice when they claim at once (%s)', { timeout: 60_000 }, async (_, types) => {
    const stores = (await pair()).map((b) => defineStore(b))
    const jobs = Array.from({ length: 400 }, (_, i) => newJob({ type: types[i % types.length], priority: i % 3 }))
    await stores[0]!.insert({ now: T0, jobs })
    const loops = stores.flatMap((s, i) => [0, 1, 2].map((k) => drain(s, `engine-${i}-${k}`, types)))
    const taken = (await Promise.all(loops)).flat()
    // A claim that met only rows the others held ends its loop early: one more sweeps up.
    taken.push(...(await drain(stores[0]!, 'sweeper', types)))
    expect(new Set(taken).size).toBe(taken.length)
    expect(taken.sort()).toEqual(jobs.map((j) => j.id).sort())
    expect((await stores[1]!.counts(T0 + 10_000)).succeeded).toBe(400)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('write one of two inserts of the same id made at once', { timeout: 60_000 }, async () => {
    const stores = (await pair()).map((b) => defineStore(b))
    for (let round = 0; round < 20; round++) {
      const job = newJob()
      const outs = await Promise.all(stores.map((s) => s.insert({ now: T0, jobs: [{ ...job }] })))
      expect(outs.map((o) => o.results[0]?.duplicate).sort()).toEqual([false, true])
    }
    expect((await stores[0]!.counts(T0)).waiting).toBe(20)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('write one of two jobs holding the same unique key inserted at once', { timeout: 60_000 }, async () => {
    const stores = (await pair()).map((b) => defineStore(b))
    for (let round = 0; round < 20; round++) {
      const key = `key-${round}`
      const outs = await Promise.all(stores.map((s) => s.insert({ now: T0, jobs: [newJob({ uniqueKey: key, uniqueUntil: T0 + 60_000 })] })))
      expect(outs.map((o) => o.results[0]?.duplicate).sort()).toEqual([false, true])
    }
    expect((await stores[0]!.counts(T0)).waiting).toBe(20)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('write each id once when a large insert meets small ones of some of its ids', { timeout: 60_000 }, async () => {
    const stores = (await pair()).map((b) => defineStore(b))
    // Past 1,000 ids, the large insert locks the insertion of jobs as a whole.
    const jobs = Array.from({ length: 1500 }, () => newJob())
    const small = jobs.filter((_, i) => i % 100 === 0)
    const [large, ...smalls] = await Promise.all([
      stores[0]!.insert({ now: T0, jobs: jobs.map((j) => ({ ...j })) }),
      ...small.map((j) => stores[1]!.insert({ now: T0, jobs: [{ ...j }] })),
    ])
    const written = [...large.results, ...smalls.flatMap((o) => o.results)].filter((r) => !r.duplicate).map((r) => r.id)
    expect(written.sort()).toEqual(jobs.map((j) => j.id).sort())
    expect((await stores[1]!.counts(T0)).waiting).toBe(1500)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('hand out ranges of dispatch numbers that never overlap', { timeout: 60_000 }, async () => {
    const backends = await pair()
    const ranges = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const count = 1 + ((i * 7) % 50)
        const first = await backends[i % 2]!.write((tx) => tx.nextSeq(count))
        return [first, first + count - 1] as const
      }),
    )
    ranges.sort((a, b) => a[0] - b[0])
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1])
    expect(ranges[0]![0]).toBeGreaterThanOrEqual(1)
    await Promise.all(backends.map((b) => b.close()))
  })

  it('reserve dispatch numbers while another transaction that reserved some is still open', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const [a, b] = await pair(schema)
    let release = (): void => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let holding = (): void => undefined
    const held = new Promise<void>((resolve) => (holding = resolve))
    const first = a.write(async (tx) => {
      const n = await tx.nextSeq(3)
      holding()
      await gate
      return n
    })
    await held
    const stop = { done: false }
    const second = b.write((tx) => tx.nextSeq(2))
    const seen = await Promise.race([second.then(() => 'finished' as const), waitingOnLock(schema, stop)])
    stop.done = true
    release()
    const [x, y] = await Promise.all([first, second])
    expect(seen).toBe('finished')
    expect(y).toBeGreaterThan(x + 2)
    await Promise.all([a.close(), b.close()])
  })

  it('a tick that meets a due schedule another process is firing waits for it, then says when it next falls due', { timeout: 60_000 }, async () => {
    const schema = freshSchema()
    const [a, b] = await pair(schema)
    const other = defineStore(b)
    await defineStore(a).putSchedule({ now: T0, schedule: every('sync', MIN) })
    let release = (): void => undefined
    const gate = new Promise<void>((resolve) => (release = resolve))
    let holding = (): void => undefined
    const held = new Promise<void>((resolve) => (holding = resolve))
    // The first process's turn fires the schedule, holding it until told to commit.
    const first = a.write(async (tx) => {
      const c = new Changes(T0 + MIN)
      await fireSchedules(tx, c)
      holding()
      await gate
      return c.events
    })
    await held
    const stop = { done: false }
    const second = other.settleAndClaim({ now: T0 + MIN, settle: [], tick: { queues: ['default'] } })
    const seen = await Promise.race([second.then(() => 'finished' as const), waitingOnLock(schema, stop)])
    stop.done = true
    release()
    expect(kinds(await first)).toEqual([`job:dispatched schedule:sync:${T0 + MIN}`])
    const out = await second
    expect(seen).toBe('waited')
    expect(out.events).toEqual([])
    expect(out.nextWakeAt).toBe(T0 + 2 * MIN)
    await Promise.all([a.close(), b.close()])
  })

  it('fire each occurrence of each schedule once when both tick at the same moments, and both say when the next falls due', { timeout: 60_000 }, async () => {
    const stores = (await pair()).map((b) => defineStore(b))
    const periods = [MIN, 2 * MIN, 3 * MIN, 5 * MIN]
    for (const [i, ms] of periods.entries()) await stores[0]!.putSchedule({ now: T0, schedule: every(`s${i}`, ms) })
    const fired: string[] = []
    for (let minute = 1; minute <= 30; minute++) {
      const now = T0 + minute * MIN
      const outs = await Promise.all([0, 1, 2, 3].map((k) => stores[k % 2]!.settleAndClaim({ now, settle: [], tick: { queues: ['default'] } })))
      fired.push(...outs.flatMap((o) => kinds(o.events)))
      const next = T0 + (minute + 1) * MIN
      for (const o of outs) expect(o.nextWakeAt).toBe(next)
    }
    const want = periods.flatMap((ms, i) => Array.from({ length: Math.floor((30 * MIN) / ms) }, (_, n) => `job:dispatched schedule:s${i}:${T0 + (n + 1) * ms}`))
    expect(fired.sort()).toEqual(want.sort())
    await Promise.all(stores.map((s) => s.close()))
  })
})
