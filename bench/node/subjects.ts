/**
 * Every subject of the Node benchmark by name, the scenarios it runs, and how to run one of
 * them. Each scenario runs in a process of its own (`subject.ts`), so that its memory is its
 * own; a subject imports its code when it runs, so that the process loads only that.
 *
 * @module
 */
import type { Row, ScenarioId } from '../lib/result.js'
import type { AdapterFactory } from '../lib/adapter.js'
import { COMMON, RUNNABLE, runScenario, type Base, type CommonScenario } from '../lib/run-common.js'
import { AHEAD } from '../lib/claim-ahead.js'
import { FERRY_STORES, RAW_NATIVE_FULL, RAW_NATIVE_NORMAL, RAW_WASM_FULL, RAW_WASM_NORMAL, claimAheadName, type FerryStore } from './names.js'
import { SIZES } from './sizes.js'
import { POSTGRES_GROUP } from './postgres/names.js'
import { PG_SCENARIOS, runPg } from './postgres/subjects.js'

export interface Subject {
  /** The scenarios it has rows in, in run order. */
  scenarios: readonly ScenarioId[]
  run(scenario: ScenarioId, dir: string): Promise<Row[]>
}

function isCommon(id: ScenarioId): id is CommonScenario {
  return (RUNNABLE as readonly ScenarioId[]).includes(id)
}

/** A subject that runs the common scenarios (or the ones named) through an adapter. */
function common(base: Base, make: (dir: string) => Promise<AdapterFactory>, scenarios: readonly CommonScenario[] = COMMON): Subject {
  return {
    scenarios,
    run: async (scenario, dir) => {
      if (!isCommon(scenario)) throw new Error(`${base.subject} has no scenario ${scenario}`)
      return [await runScenario(base, await make(dir), SIZES, scenario)]
    },
  }
}

function ferry(kind: FerryStore): Subject {
  const base: Base = { subject: FERRY_STORES[kind], kind: 'ferry' }
  const rest = common(base, async (dir) => (await import('./ferry.js')).ferryAdapter(kind, dir))
  return {
    scenarios: [...COMMON, 'chains', 'batch', 'plain'],
    run: async (scenario, dir) => {
      const { batch, chains, plain } = await import('./ferry.js')
      if (scenario === 'chains') return [{ ...base, scenario, ...(await chains(kind, dir)) }]
      if (scenario === 'batch') return [{ ...base, scenario, ...(await batch(kind, dir)) }]
      if (scenario === 'plain') return [{ ...base, scenario, ...(await plain(kind, dir)) }]
      return rest.run(scenario, dir)
    },
  }
}

const NORMAL = FERRY_STORES['file-normal']
const FULL = FERRY_STORES['file-full']

const ferryScale: Subject = {
  scenarios: ['scale-1k', 'scale-1m', 'list-100k'],
  run: async (scenario, dir) => {
    const { list, scale } = await import('./ferry.js')
    if (scenario === 'list-100k') return [{ subject: NORMAL, kind: 'ferry', scenario, ...(await list('file-normal', dir)) }]
    const { small, large, processed } = SIZES.scale
    const waiting = scenario === 'scale-1k' ? small : large
    return [{ subject: NORMAL, kind: 'ferry', scenario, ...(await scale(dir, waiting, processed)) }]
  },
}

const workers: Subject = {
  scenarios: ['worker-dispatch', 'worker-eld'],
  run: async (scenario, dir) => {
    const { workerDispatch, workerEventLoop } = await import('./workers.js')
    return scenario === 'worker-dispatch' ? workerDispatch(dir) : workerEventLoop(dir)
  },
}

function unavailable(base: Base, reason: string): Subject {
  return { scenarios: COMMON, run: async (scenario) => [{ ...base, scenario, unavailable: reason }] }
}

function bull(): Subject {
  const base: Base = { subject: 'BullMQ (local Redis, AOF everysec)', kind: 'peer', compareTo: NORMAL }
  const port = Number(process.env['BENCH_REDIS_PORT'])
  if (!(port > 0)) return unavailable(base, process.env['BENCH_REDIS_UNAVAILABLE'] ?? 'no redis-server')
  return common(base, async () => (await import('./bullmq.js')).bullmq(port))
}

const rawWasm = (kind: 'memory' | 'file-normal' | 'file-full', ahead?: number) => async (dir: string) => {
  const { rawSqlite } = await import('../lib/raw-sqlite.js')
  const { openRawSqlite } = await import('./raw-sqlite-file.js')
  return rawSqlite(openRawSqlite(kind, dir), ahead === undefined ? {} : { ahead })
}

const rawNative = (synchronous: 'normal' | 'full', ahead?: number) => async (dir: string) => {
  const { rawSqlite } = await import('../lib/raw-sqlite.js')
  const { openNativeSqlite } = await import('./raw-native.js')
  return rawSqlite(openNativeSqlite(synchronous, dir), ahead === undefined ? {} : { ahead })
}

/** Claim-ahead only changes processing: its ceilings run S2 alone. */
const PROCESS: readonly CommonScenario[] = ['process-c1', 'process-c8']

const rawAhead = (raw: string, compareTo: string, make: (dir: string) => Promise<AdapterFactory>) =>
  common({ subject: claimAheadName(raw, AHEAD), kind: 'raw', compareTo }, make, PROCESS)

const plainjob = (synchronous: 'normal' | 'full', pollMs?: number) => async (dir: string) => (await import('./plainjob.js')).plainjob(synchronous, dir, pollMs)
const liteque = (synchronous: 'normal' | 'full') => async (dir: string) => (await import('./liteque.js')).liteque(synchronous, dir)

/** A Postgres subject: its scenarios run on the bench's PostgreSQL server. */
function postgres(name: string): Subject {
  return { scenarios: PG_SCENARIOS, run: (scenario) => runPg(name, scenario) }
}

/** In run order: ferry first, then the ceilings, then the peers. */
export const SUBJECTS: Record<string, () => Subject> = {
  'ferry:memory': () => ferry('memory'),
  'ferry:sqlite-memory': () => ferry('sqlite-memory'),
  'ferry:file-normal': () => ferry('file-normal'),
  'ferry:file-full': () => ferry('file-full'),
  'ferry:scale': () => ferryScale,
  'raw:memory': () => common({ subject: 'raw · Map + array', kind: 'raw', compareTo: FERRY_STORES.memory }, async () => (await import('./raw-memory.js')).rawMemory),
  'raw:sqlite-memory': () =>
    common({ subject: "raw · ferry's engine: SQLite WASM in memory", kind: 'raw', compareTo: FERRY_STORES['sqlite-memory'] }, rawWasm('memory')),
  'raw:file-normal': () => common({ subject: RAW_WASM_NORMAL, kind: 'raw', compareTo: NORMAL }, rawWasm('file-normal')),
  'raw:file-full': () => common({ subject: RAW_WASM_FULL, kind: 'raw', compareTo: FULL }, rawWasm('file-full')),
  'raw:native-normal': () => common({ subject: RAW_NATIVE_NORMAL, kind: 'raw', compareTo: NORMAL }, rawNative('normal')),
  'raw:native-full': () => common({ subject: RAW_NATIVE_FULL, kind: 'raw', compareTo: FULL }, rawNative('full')),
  'raw:file-normal-ahead': () => rawAhead(RAW_WASM_NORMAL, NORMAL, rawWasm('file-normal', AHEAD)),
  'raw:file-full-ahead': () => rawAhead(RAW_WASM_FULL, FULL, rawWasm('file-full', AHEAD)),
  'raw:native-normal-ahead': () => rawAhead(RAW_NATIVE_NORMAL, NORMAL, rawNative('normal', AHEAD)),
  'raw:native-full-ahead': () => rawAhead(RAW_NATIVE_FULL, FULL, rawNative('full', AHEAD)),
  'p-queue': () => common({ subject: 'p-queue (memory, not durable)', kind: 'peer', compareTo: FERRY_STORES.memory }, async () => (await import('./p-queue.js')).pQueue),
  'plainjob:normal': () => common({ subject: 'plainjob (WAL, normal)', kind: 'peer', compareTo: NORMAL }, plainjob('normal')),
  'plainjob:full': () => common({ subject: 'plainjob (WAL, full)', kind: 'peer', compareTo: FULL }, plainjob('full')),
  'plainjob:poll-1ms': () => common({ subject: 'plainjob (WAL, normal), polling every 1 ms', kind: 'peer', compareTo: NORMAL }, plainjob('normal', 1), ['latency']),
  'liteque:normal': () => common({ subject: 'liteque (WAL, normal)', kind: 'peer', compareTo: NORMAL }, liteque('normal')),
  'liteque:full': () => common({ subject: 'liteque (WAL, full)', kind: 'peer', compareTo: FULL }, liteque('full')),
  bullmq: bull,
  workers: () => workers,
  'ferry:postgres': () => postgres('ferry:postgres'),
  'graphile-worker': () => postgres('graphile-worker'),
  'graphile-worker:batched': () => postgres('graphile-worker:batched'),
  'pg-boss': () => postgres('pg-boss'),
}

/** Named groups of subjects: `npm run bench -- postgres` runs the group, which the full run leaves out. */
export const GROUPS: Record<string, readonly string[]> = { postgres: POSTGRES_GROUP }

/** What `npm run bench` runs with no names: every subject outside a group. */
export const DEFAULT_SUBJECTS = Object.keys(SUBJECTS).filter((n) => !Object.values(GROUPS).some((g) => g.includes(n)))
