/**
 * The Postgres subjects of the Node benchmark: each scenario on a fresh database of the
 * server `main.ts` started (its admin URL in `BENCH_POSTGRES_URL`); without a server the rows
 * say why (`BENCH_POSTGRES_UNAVAILABLE`).
 *
 * @module
 */
import type { Base } from '../../lib/run-common.js'
import type { Row, ScenarioId } from '../../lib/result.js'
import { smokeSizes } from '../../lib/smoke.js'
import type { PgFactory } from './adapter.js'
import { FERRY_POSTGRES, GRAPHILE_WORKER, GRAPHILE_WORKER_BATCHED, PG_BOSS } from './names.js'
import type { PgSizes } from './scenarios.js'

export interface PgSubject {
  base: Base
  load(): Promise<PgFactory>
}

export const PG_SUBJECTS: Record<string, PgSubject> = {
  'ferry:postgres': { base: { subject: FERRY_POSTGRES, kind: 'ferry' }, load: async () => (await import('./ferry.js')).ferryPostgres },
  'graphile-worker': {
    base: { subject: GRAPHILE_WORKER, kind: 'peer', compareTo: FERRY_POSTGRES },
    load: async () => (await import('./graphile-worker.js')).graphileWorker(false),
  },
  'graphile-worker:batched': {
    base: { subject: GRAPHILE_WORKER_BATCHED, kind: 'peer', compareTo: FERRY_POSTGRES },
    load: async () => (await import('./graphile-worker.js')).graphileWorker(true),
  },
  'pg-boss': { base: { subject: PG_BOSS, kind: 'peer', compareTo: FERRY_POSTGRES }, load: async () => (await import('./pg-boss.js')).pgBoss },
}

export const PG_SCENARIOS = ['process-c1', 'process-c8', 'process-c1-2p', 'process-c8-2p', 'latency-return', 'latency-return-2p'] as const satisfies readonly ScenarioId[]

const FULL: PgSizes = {
  process: { jobs: 5_000, seconds: 10 },
  latency: { samples: 200, gapMs: { min: 0, max: 20 } },
}

export const PG_SIZES: PgSizes = process.env['BENCH_SMOKE'] === '1' ? smokeSizes(FULL) : FULL

/** One scenario of the subject `name`, on a database made for it and dropped after. */
export async function runPg(name: string, scenario: ScenarioId): Promise<Row[]> {
  const s = PG_SUBJECTS[name]
  if (!s) throw new Error(`no Postgres subject ${name}`)
  const admin = process.env['BENCH_POSTGRES_URL']
  if (admin === undefined) return [{ ...s.base, scenario, unavailable: process.env['BENCH_POSTGRES_UNAVAILABLE'] ?? 'no PostgreSQL server' }]
  const { freshDatabase } = await import('../../lib/postgres.js')
  const { latencyAfterDispatch, processJobs } = await import('./scenarios.js')
  const make = await s.load()
  const db = await freshDatabase(admin)
  try {
    switch (scenario) {
      case 'process-c1':
      case 'process-c8':
      case 'process-c1-2p':
      case 'process-c8-2p': {
        const concurrency = scenario.startsWith('process-c8') ? 8 : 1
        const processes = scenario.endsWith('-2p') ? 2 : 1
        return [{ ...s.base, scenario, ...(await processJobs(name, make, db.url, PG_SIZES, concurrency, processes)) }]
      }
      case 'latency-return':
      case 'latency-return-2p':
        return [{ ...s.base, scenario, ...(await latencyAfterDispatch(name, make, db.url, PG_SIZES, scenario === 'latency-return-2p')) }]
      default:
        throw new Error(`${name} has no scenario ${scenario}`)
    }
  } finally {
    await db.drop()
  }
}
