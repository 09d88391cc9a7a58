/**
 * ferry in Node: its stores, and the scale scenario on the SQLite file store.
 *
 * @module
 */
import { statSync } from 'node:fs'
import { join as joinPath } from 'node:path'
import { threadId } from 'node:worker_threads'
import { createQueue, job, memoryStore, type Store } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import type { AdapterFactory, Handler } from '../lib/adapter.js'
import { batchScenario, chainsScenario, queueAdapter } from '../lib/ferry.js'
import { counter, type Measured } from '../lib/scenarios.js'
import { now } from '../lib/stats.js'
import { SIZES } from './sizes.js'

/** ferry's stores in Node, and how their rows are named. */
export const FERRY_STORES = {
  memory: 'ferry · memory',
  'sqlite-memory': 'ferry · SQLite in memory',
  'file-normal': 'ferry · SQLite file (normal)',
  'file-full': 'ferry · SQLite file (full)',
} as const

export type FerryStore = keyof typeof FERRY_STORES

let files = 0

/** A fresh store; file stores get a new file in `dir`. */
export function openStore(kind: FerryStore, dir: string): Store {
  switch (kind) {
    case 'memory':
      return memoryStore()
    case 'sqlite-memory':
      return sqliteStore()
    case 'file-normal':
    case 'file-full':
      return sqliteStore({ path: dbPath(dir), synchronous: kind === 'file-full' ? 'full' : 'normal' })
  }
}

function dbPath(dir: string): string {
  return joinPath(dir, `ferry-${process.pid}-${threadId}-${files++}.db`)
}

export function ferryAdapter(kind: FerryStore, dir: string): AdapterFactory {
  return queueAdapter(() => openStore(kind, dir))
}

export function chains(kind: FerryStore, dir: string): Promise<Measured> {
  return chainsScenario(() => openStore(kind, dir), SIZES.chains)
}

export function batch(kind: FerryStore, dir: string): Promise<Measured> {
  return batchScenario(() => openStore(kind, dir), SIZES.batch)
}

export interface ScaleMeasured extends Measured {
  rssMB: number
}

/**
 * S5 on the SQLite file store (synchronous=normal): `waiting` jobs are loaded, then
 * `processed` are run at concurrency 8 and timed. With fewer waiting than processed, the
 * queue is refilled to `waiting` and drained again until `processed` have run.
 */
export async function scale(dir: string, waiting: number, processed: number): Promise<ScaleMeasured> {
  const path = dbPath(dir)
  const q = createQueue({ store: sqliteStore({ path, synchronous: 'normal' }), concurrency: 8 })
  let handler: Handler = () => undefined
  q.register('noop', () => handler())
  try {
    let loaded = 0
    let loadMs = 0
    const load = async (n: number) => {
      const t = now()
      for (let off = 0; off < n; off += 5000) {
        const size = Math.min(5000, n - off)
        await q.dispatchMany(Array.from({ length: size }, (_, k) => job('noop', { i: loaded + k })))
        loaded += size
      }
      loadMs += now() - t
    }
    let ms = 0
    let done = 0
    let rss = 0
    let heap = 0
    while (done < processed) {
      await load(waiting)
      const mem = process.memoryUsage()
      rss = Math.max(rss, mem.rss)
      heap = Math.max(heap, mem.heapUsed)
      const round = Math.min(waiting, processed - done)
      const c = counter(round)
      handler = c.handler
      const t0 = now()
      await q.start()
      await c.all
      await q.stop()
      ms += now() - t0
      done += round
    }
    const fileMB = statSync(path).size / 2 ** 20
    const rounds = Math.ceil(processed / waiting)
    const how = rounds > 1 ? `${rounds} rounds of ${waiting.toLocaleString('en-US')} waiting, each drained` : `first ${processed.toLocaleString('en-US')} of them`
    return {
      jobs: done,
      ms,
      rssMB: rss / 2 ** 20,
      note:
        `${how}; loading ran at ${Math.round((loaded * 1000) / loadMs).toLocaleString('en-US')} jobs/s (dispatchMany of 5,000); ` +
        `with them waiting: RSS ${Math.round(rss / 2 ** 20)} MB, JS heap ${Math.round(heap / 2 ** 20)} MB, file ${Math.round(fileMB)} MB`,
    }
  } finally {
    await q.close()
  }
}
