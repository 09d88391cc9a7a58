/**
 * The indexes each hot query reads, on a real server with 20,000 jobs and fresh statistics:
 * a claim, a promotion or a listing page reads a range of an index, never the whole table.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { Statements } from '../../../src/storage/postgres/statements.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { newJob, T0 } from '../../../src/testing/contract/harness.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 2 })
const schema = freshSchema()
const s = new Statements(schema)

beforeAll(async () => {
  const store = postgresStore({ pool, schema })
  for (let k = 0; k < 10; k++) {
    const jobs = Array.from({ length: 2000 }, (_, i) => newJob({ type: ['t', 'u'][i % 2], runAt: i % 5 === 0 ? T0 + 1e6 : T0 }))
    await store.insert({ now: T0, jobs })
  }
  await store.close()
  await pool.query(`ANALYZE "${schema}"."jobs"`)
}, 120_000)

/** The plan of a query, as run inside a transaction (its locks released by the rollback). */
async function plan(text: string, params: unknown[]): Promise<string> {
  const c = await pool.connect()
  try {
    await c.query('BEGIN')
    const r = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${text}`, params)
    await c.query('ROLLBACK')
    return r.rows.map((x) => x['QUERY PLAN']).join('\n')
  } finally {
    c.release()
  }
}

describe('query plans', () => {
  it.each([
    ['ready, by priority', () => s.ready('priority', true, 4), ['default', 't', 10, ['x']], 'jobs_waiting'],
    ['ready, by runAt', () => s.ready('runAt', true), ['default', 't', 10], 'jobs_waiting_run_at'],
    ['ready of two types', () => s.readyMany('priority', true), [['default'], ['t', 'u'], 10], 'jobs_waiting'],
    ['due', () => s.due(true), [['default'], T0 + 2e6, 10], 'jobs_delayed'],
    // Active jobs are few: from the lease index, or the active range of the state index.
    ['expired', () => s.expired(true, true), [T0, ['default'], ['t'], 10, ['e'], T0], /jobs_active|Index Cond: \(state = 'active'::text\)/],
    ['finished', () => s.finished(true), ['default', 'succeeded', Number.MAX_VALUE, 10, 0], 'jobs_finished'],
    ['findUnique', () => s.findUnique(true), [['k'], [T0]], 'jobs_unique'],
    ['a page of waiting jobs', () => s.listJobs({ state: 'waiting', limit: 10, offset: 100 }, T0)!.text, s.listJobs({ state: 'waiting', limit: 10, offset: 100 }, T0)!.params, 'jobs_state'],
    ['a page of all jobs', () => s.listJobs({ limit: 10, offset: 100 }, T0)!.text, s.listJobs({ limit: 10, offset: 100 }, T0)!.params, 'jobs_state'],
  ] as const)('%s reads its index', async (_, sql, params, index) => {
    const p = await plan(sql(), [...params])
    expect(p).toMatch(index)
    expect(p).not.toContain('Seq Scan')
  })

  it('a page of waiting jobs reads about offset + limit of them', async () => {
    const q = s.listJobs({ state: 'waiting', limit: 10, offset: 100 }, T0)!
    const p = await plan(q.text, q.params)
    const waitingArm = /Index Scan using jobs_state on jobs \(actual rows=(\d+)/.exec(p)
    expect(Number(waitingArm?.[1])).toBe(110)
  })
})
