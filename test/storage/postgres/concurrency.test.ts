/**
 * Two stores on one real PostgreSQL server, each with a pool of its own, as two processes
 * would be: what one transaction locks the other skips or waits for, so a job is never claimed
 * twice, an id or a unique key is never inserted twice, and dispatch numbers never overlap.
 */
import { describe, expect, it } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import type { Store, StoredJob } from '../../../src/core/store.js'
import { PostgresBackend } from '../../../src/storage/postgres/backend.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { claimRequest, newJob, T0 } from '../../../src/testing/contract/harness.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pools = [testPool({ max: 4 }), testPool({ max: 4 })] as const

/** One backend per pool on a fresh schema: two processes sharing one database. */
async function pair(): Promise<[PostgresBackend, PostgresBackend]> {
  const schema = freshSchema()
  await migrate(pgDriver(pools[0]), schema)
  return pools.map((pool) => new PostgresBackend({ driver: pgDriver(pool), schema, ready: () => Promise.resolve() })) as [PostgresBackend, PostgresBackend]
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
})
