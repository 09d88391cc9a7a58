/**
 * Every subject of the Node benchmark by name, and which scenarios it runs.
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
import { openRawSqlite } from './raw-sqlite-file.js'
import { runCommon, type Base } from '../lib/run-common.js'
import { SIZES } from './sizes.js'
import { workers } from './workers.js'

export type Subject = (dir: string) => Promise<Row[]>

function common(base: Base, make: AdapterFactory): Promise<Row[]> {
  return runCommon(base, make, SIZES)
}

function ferry(kind: FerryStore): Subject {
  return async (dir) => {
    const base: Base = { subject: FERRY_STORES[kind], kind: 'ferry' }
    const rows = await common(base, ferryAdapter(kind, dir))
    rows.push({ ...base, scenario: 'chains', ...(await chains(kind, dir)) })
    rows.push({ ...base, scenario: 'batch', ...(await batch(kind, dir)) })
    return rows
  }
}

const ferryScale: Subject = async (dir) => {
  const base: Base = { subject: FERRY_STORES['file-normal'], kind: 'ferry' }
  const { small, large, processed } = SIZES.scale
  return [
    { ...base, scenario: 'scale-1k', ...(await scale(dir, small, processed)) },
    { ...base, scenario: 'scale-1m', ...(await scale(dir, large, processed)) },
  ]
}

function other(base: Base, make: (dir: string) => AdapterFactory): Subject {
  return (dir) => common(base, make(dir))
}

const NORMAL = FERRY_STORES['file-normal']
const FULL = FERRY_STORES['file-full']

/** Rows that say why a subject could not run, one per scenario it would have had. */
function unavailable(base: Base, reason: string): Row[] {
  const ids: ScenarioId[] = ['dispatch-one', 'dispatch-many', 'process-c1', 'process-c8', 'latency']
  return ids.map((scenario) => ({ ...base, scenario, unavailable: reason }))
}

const bull: Subject = async () => {
  const base: Base = { subject: 'BullMQ (local Redis, AOF everysec)', kind: 'peer', compareTo: NORMAL }
  const port = Number(process.env['BENCH_REDIS_PORT'])
  if (!(port > 0)) return unavailable(base, process.env['BENCH_REDIS_UNAVAILABLE'] ?? 'no redis-server')
  return common(base, bullmq(port))
}

/** In run order: ferry first, then the ceilings, then the peers. */
export const SUBJECTS: Record<string, Subject> = {
  'ferry:memory': ferry('memory'),
  'ferry:sqlite-memory': ferry('sqlite-memory'),
  'ferry:file-normal': ferry('file-normal'),
  'ferry:file-full': ferry('file-full'),
  'ferry:scale': ferryScale,
  'raw:memory': other({ subject: 'raw · Map + array', kind: 'raw', compareTo: FERRY_STORES.memory }, () => rawMemory),
  'raw:sqlite-memory': other({ subject: 'raw · SQLite WASM in memory', kind: 'raw', compareTo: FERRY_STORES['sqlite-memory'] }, (dir) =>
    rawSqlite(openRawSqlite('memory', dir)),
  ),
  'raw:file-normal': other({ subject: 'raw · SQLite WASM file (normal)', kind: 'raw', compareTo: NORMAL }, (dir) => rawSqlite(openRawSqlite('file-normal', dir))),
  'raw:file-full': other({ subject: 'raw · SQLite WASM file (full)', kind: 'raw', compareTo: FULL }, (dir) => rawSqlite(openRawSqlite('file-full', dir))),
  'p-queue': other({ subject: 'p-queue (memory, not durable)', kind: 'peer', compareTo: FERRY_STORES.memory }, () => pQueue),
  'plainjob:normal': other({ subject: 'plainjob (WAL, normal)', kind: 'peer', compareTo: NORMAL }, (dir) => plainjob('normal', dir)),
  'plainjob:full': other({ subject: 'plainjob (WAL, full)', kind: 'peer', compareTo: FULL }, (dir) => plainjob('full', dir)),
  'liteque:normal': other({ subject: 'liteque (WAL, normal)', kind: 'peer', compareTo: NORMAL }, (dir) => liteque('normal', dir)),
  'liteque:full': other({ subject: 'liteque (WAL, full)', kind: 'peer', compareTo: FULL }, (dir) => liteque('full', dir)),
  bullmq: bull,
  workers,
}
