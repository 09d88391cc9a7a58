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
import type { AdapterFactory } from '../lib/adapter.js'
import { batchScenario, chainsScenario, listScenario, plainScenario, queueAdapter } from '../lib/ferry.js'
import type { Measured } from '../lib/scenarios.js'
import { deferred, now } from '../lib/stats.js'
import type { FerryStore } from './names.js'
import { SIZES } from './sizes.js'

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

export function plain(kind: FerryStore, dir: string): Promise<Measured> {
  return plainScenario(() => openStore(kind, dir), SIZES.plain)
}

export function list(kind: FerryStore, dir: string): Promise<Measured> {
  return listScenario(() => openStore(kind, dir), SIZES.list)
}

export interface ScaleMeasured extends Measured {
  rssMB: number
}

/** Jobs dispatched at a time to keep the queue topped up while it runs. */
const TOP_UP = 250

/**
 * S5 on the SQLite file store (synchronous=normal): `waiting` jobs are loaded, then the engine
 * runs at concurrency 8 until `processed` jobs have run, timed from start(). Each time
 * TOP_UP jobs have run, TOP_UP more are dispatched, so the queue stays between `waiting` −
 * TOP_UP and `waiting` throughout: the 1,000 and the 1,000,000 runs do the same work
 * and differ only in how many jobs wait.
 */
export async function scale(dir: string, waiting: number, processed: number): Promise<ScaleMeasured> {
  const path = dbPath(dir)
  const q = createQueue({ store: sqliteStore({ path, synchronous: 'normal' }), concurrency: 8 })
  let seen = 0
  let topped = 0
  const finished = deferred()
  let ranOut = deferred()
  q.register('noop', () => {
    if (++seen === processed) finished.resolve()
    if (seen - topped >= TOP_UP) ranOut.resolve()
  })
  try {
    let loaded = 0
    const load = async (n: number, batch: number) => {
      for (let off = 0; off < n; off += batch) {
        const size = Math.min(batch, n - off)
        await q.dispatchMany(Array.from({ length: size }, (_, k) => job('noop', { i: loaded + k })))
        loaded += size
      }
    }
    await q.counts() // opens the store: the load rate below is the rate of loading alone
    const t = now()
    await load(waiting, 5000)
    const loadMs = now() - t
    const mem = process.memoryUsage()
    const topUp = async () => {
      while (seen < processed) {
        await Promise.race([ranOut.promise, finished.promise])
        ranOut = deferred()
        while (seen - topped >= TOP_UP && seen < processed) {
          await load(TOP_UP, TOP_UP)
          topped += TOP_UP
        }
      }
    }
    const t0 = now()
    await q.start()
    const topping = topUp()
    await finished.promise
    const ms = now() - t0
    await topping
    await q.stop()
    const { succeeded, waiting: left } = await q.counts()
    const fileMB = statSync(path).size / 2 ** 20
    return {
      jobs: processed,
      ms,
      rssMB: mem.rss / 2 ** 20,
      note:
        `${processed.toLocaleString('en-US')} run in one start, the queue topped up by ${TOP_UP} after every ${TOP_UP} run ` +
        `(${left.toLocaleString('en-US')} waiting at the end, ${succeeded.toLocaleString('en-US')} succeeded); ` +
        `loading ran at ${Math.round((waiting * 1000) / loadMs).toLocaleString('en-US')} jobs/s (dispatchMany of 5,000); ` +
        `with them waiting: RSS ${Math.round(mem.rss / 2 ** 20)} MB, JS heap ${Math.round(mem.heapUsed / 2 ** 20)} MB; file ${Math.round(fileMB)} MB at the end`,
    }
  } finally {
    await q.close()
  }
}
