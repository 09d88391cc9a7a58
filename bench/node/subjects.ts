/**
 * Every subject of the Node benchmark by name, the scenarios it runs, and how to run one of
 * them. Each scenario runs in a process of its own (`subject.ts`), so that its memory is its own.
 *
 * @module
 */
import type { Row, ScenarioId } from '../lib/result.js'
import type { AdapterFactory } from '../lib/adapter.js'
import { FERRY_STORES, batch, chains, ferryAdapter, scale, type FerryStore } from './ferry.js'
import { bullmq } from './bullmq.js'
import { liteque } from './liteque.js'
import { pQueue } from './p-queue.js'
import { plainjob } from './plainjob.js'
import { rawMemory } from './raw-memory.js'
import { rawSqlite } from '../lib/raw-sqlite.js'
import { openNativeSqlite, openRawSqlite } from './raw-sqlite-file.js'
import { COMMON, runScenario, type Base, type CommonScenario } from '../lib/run-common.js'
import { SIZES } from './sizes.js'
import { workerDispatch, workerEventLoop } from './workers.js'

export interface Subject {
  /** The scenarios it has rows in, in run order. */
  scenarios: readonly ScenarioId[]
  run(scenario: ScenarioId, dir: string): Promise<Row[]>
}

function isCommon(id: ScenarioId): id is CommonScenario {
  return (COMMON as readonly ScenarioId[]).includes(id)
}

/** A subject that runs the common scenarios (or the ones named) through an adapter. */
function common(base: Base, make: (dir: string) => AdapterFactory, scenarios: readonly CommonScenario[] = COMMON): Subject {
  return {
    scenarios,
    run: async (scenario, dir) => {
      if (!isCommon(scenario)) throw new Error(`${base.subject} has no scenario ${scenario}`)
      return [await runScenario(base, make(dir), SIZES, scenario)]
    },
  }
}

function ferry(kind: FerryStore): Subject {
  const base: Base = { subject: FERRY_STORES[kind], kind: 'ferry' }
  const rest = common(base, (dir) => ferryAdapter(kind, dir))
  return {
    scenarios: [...COMMON, 'chains', 'batch'],
    run: async (scenario, dir) => {
      if (scenario === 'chains') return [{ ...base, scenario, ...(await chains(kind, dir)) }]
      if (scenario === 'batch') return [{ ...base, scenario, ...(await batch(kind, dir)) }]
      return rest.run(scenario, dir)
    },
  }
}

const NORMAL = FERRY_STORES['file-normal']
const FULL = FERRY_STORES['file-full']

const ferryScale: Subject = {
  scenarios: ['scale-1k', 'scale-1m'],
  run: async (scenario, dir) => {
    const { small, large, processed } = SIZES.scale
    const waiting = scenario === 'scale-1k' ? small : large
    return [{ subject: NORMAL, kind: 'ferry', scenario, ...(await scale(dir, waiting, processed)) }]
  },
}

const workers: Subject = {
  scenarios: ['worker-dispatch', 'worker-eld'],
  run: (scenario, dir) => (scenario === 'worker-dispatch' ? workerDispatch(dir) : workerEventLoop(dir)),
}

function unavailable(base: Base, reason: string): Subject {
  return { scenarios: COMMON, run: async (scenario) => [{ ...base, scenario, unavailable: reason }] }
}

function bull(): Subject {
  const base: Base = { subject: 'BullMQ (local Redis, AOF everysec)', kind: 'peer', compareTo: NORMAL }
  const port = Number(process.env['BENCH_REDIS_PORT'])
  if (!(port > 0)) return unavailable(base, process.env['BENCH_REDIS_UNAVAILABLE'] ?? 'no redis-server')
  return common(base, () => bullmq(port))
}

/** In run order: ferry first, then the ceilings, then the peers. */
export const SUBJECTS: Record<string, () => Subject> = {
  'ferry:memory': () => ferry('memory'),
  'ferry:sqlite-memory': () => ferry('sqlite-memory'),
  'ferry:file-normal': () => ferry('file-normal'),
  'ferry:file-full': () => ferry('file-full'),
  'ferry:scale': () => ferryScale,
  'raw:memory': () => common({ subject: 'raw · Map + array', kind: 'raw', compareTo: FERRY_STORES.memory }, () => rawMemory),
  'raw:sqlite-memory': () =>
    common({ subject: "raw · ferry's engine: SQLite WASM in memory", kind: 'raw', compareTo: FERRY_STORES['sqlite-memory'] }, (dir) =>
      rawSqlite(openRawSqlite('memory', dir)),
    ),
  'raw:file-normal': () =>
    common({ subject: "raw · ferry's engine: SQLite WASM + ferry's VFS, file (normal)", kind: 'raw', compareTo: NORMAL }, (dir) =>
      rawSqlite(openRawSqlite('file-normal', dir)),
    ),
  'raw:file-full': () =>
    common({ subject: "raw · ferry's engine: SQLite WASM + ferry's VFS, file (full)", kind: 'raw', compareTo: FULL }, (dir) =>
      rawSqlite(openRawSqlite('file-full', dir)),
    ),
  'raw:native-normal': () =>
    common({ subject: 'raw · native SQLite (better-sqlite3), file (normal)', kind: 'raw', compareTo: NORMAL }, (dir) =>
      rawSqlite(openNativeSqlite('normal', dir)),
    ),
  'raw:native-full': () =>
    common({ subject: 'raw · native SQLite (better-sqlite3), file (full)', kind: 'raw', compareTo: FULL }, (dir) =>
      rawSqlite(openNativeSqlite('full', dir)),
    ),
  'p-queue': () => common({ subject: 'p-queue (memory, not durable)', kind: 'peer', compareTo: FERRY_STORES.memory }, () => pQueue),
  'plainjob:normal': () => common({ subject: 'plainjob (WAL, normal)', kind: 'peer', compareTo: NORMAL }, (dir) => plainjob('normal', dir)),
  'plainjob:full': () => common({ subject: 'plainjob (WAL, full)', kind: 'peer', compareTo: FULL }, (dir) => plainjob('full', dir)),
  'plainjob:poll-1ms': () =>
    common({ subject: 'plainjob (WAL, normal), polling every 1 ms', kind: 'peer', compareTo: NORMAL }, (dir) => plainjob('normal', dir, 1), ['latency']),
  'liteque:normal': () => common({ subject: 'liteque (WAL, normal)', kind: 'peer', compareTo: NORMAL }, (dir) => liteque('normal', dir)),
  'liteque:full': () => common({ subject: 'liteque (WAL, full)', kind: 'peer', compareTo: FULL }, (dir) => liteque('full', dir)),
  bullmq: bull,
  workers: () => workers,
}
