/**
 * Retention on the IndexedDB store in Chromium: finished jobs (chains' and batches' too) are in
 * the `retain` index of schema 4, queue first, and nothing else is; a schema-2 or schema-3
 * database gets its finished jobs their keys when it is opened; a slice past the newest 1,000
 * of 1,200 deletes the oldest, reading about as many records as it deletes.
 */
/// <reference types="vite/client" />
import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineStore } from '../../src/core/define-store.js'
import type { NewJob, Store } from '../../src/core/store.js'
import { IdbBackend } from '../../src/storage/idb/backend.js'
import { Connection } from '../../src/storage/idb/connection.js'
import { MIGRATIONS } from '../../src/storage/idb/schema.js'
import type { IdbDump } from '../fixtures/formats/idb-dump.js'
import { deleteIdb, loadIdb } from '../fixtures/formats/load-idb.js'
import v2 from '../fixtures/formats/idb-v2.json' with { type: 'json' }
import v3 from '../fixtures/formats/idb-v3.json' with { type: 'json' }

const run = Date.now().toString(36)
let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanup.splice(0).reverse()) await c()
})

function open(name = `ferry-retention-${run}-${++n}`): { name: string; store: Store } {
  const store = defineStore(new IdbBackend(new Connection({ name, migrations: MIGRATIONS })))
  cleanup.push(async () => {
    await store.close()
    await deleteDB(name)
  })
  return { name, store }
}

const T0 = 1000
const job = (id: string, o: Partial<NewJob> = {}): NewJob => ({ id, type: 't', queue: 'default', payload: id, priority: 0, maxAttempts: 1, backoff: 1000, runAt: T0, ...o })
const claim = (types: string[], limit = 100) => ({ owner: 'o', token: `k-${types.join()}-${++n}`, queues: ['default'], types, limit, leaseUntil: T0 + 60_000 })

/** The `retain` index of the jobs store: its keys by job id. */
async function retainKeys(name: string): Promise<Map<string, IDBValidKey>> {
  const db = await openDB(name)
  const index = db.transaction('ferry.jobs').store.index('retain' as never)
  const out = new Map<string, IDBValidKey>()
  for (let cursor = await index.openCursor(); cursor; cursor = await cursor.continue()) out.set(cursor.primaryKey as string, cursor.key)
  db.close()
  return out
}

describe('IndexedDB retention index (Chromium)', { timeout: 60_000 }, () => {
  it('holds every finished job by [queue, state, finishedAt, seq], chains and batches included, and nothing else', async () => {
    const { name, store } = open()
    await store.insert({
      now: T0,
      jobs: [job('single', { type: 's' }), job('waiting')],
      chains: [{ id: 'c', callbacks: {}, steps: [job('c0', { type: 'chain' }), job('c1', { type: 'chain' })] }],
      batches: [{ id: 'b', allowFailures: false, callbacks: {}, jobs: [job('b0', { type: 'batch' })] }],
    })
    const claimed = (await store.settleAndClaim({ now: T0, settle: [], claim: claim(['s', 'chain', 'batch']) })).claimed
    await store.settleAndClaim({
      now: T0 + 10,
      settle: claimed.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: j.id === 'b0' ? { kind: 'failed' as const, error: { name: 'Error', message: 'no' } } : { kind: 'succeeded' as const } })),
    })
    const seq = async (id: string): Promise<number> => (await store.getJob(id))?.seq ?? NaN
    expect(await retainKeys(name)).toEqual(
      new Map<string, IDBValidKey>([
        ['single', ['default', 'succeeded', T0 + 10, await seq('single')]],
        ['c0', ['default', 'succeeded', T0 + 10, await seq('c0')]],
        ['b0', ['default', 'failed', T0 + 10, await seq('b0')]],
      ]),
    )
  })

  it.each([
    ['schema-2', v2],
    ['schema-3', v3],
  ])('gives each finished job of a %s database its key when it is opened', async (_, fixture) => {
    const dump = fixture as unknown as IdbDump
    const name = `ferry-retention-v${dump.version}-${run}-${++n}`
    await loadIdb(dump, name)
    cleanup.push(() => deleteIdb(name))
    const jobs = dump.stores.find((s) => s.name === 'ferry.jobs')?.records ?? []
    const finished = jobs
      .map((r) => r.value as { id: string; queue: string; state: string; finishedAt?: number })
      .filter((j) => ['succeeded', 'failed', 'cancelled'].includes(j.state) && j.finishedAt !== undefined)
    expect(finished.length).toBeGreaterThan(0)
    const { store } = open(name)
    await store.counts(0)
    const keys = await retainKeys(name)
    expect([...keys.keys()].sort()).toEqual(finished.map((j) => j.id).sort())
    for (const j of finished) expect((keys.get(j.id) as unknown[]).slice(0, 3)).toEqual([j.queue, j.state, j.finishedAt])
  })

  it('deletes the oldest beyond the newest 1,000 of 1,200, reading about as many records as it deletes', async () => {
    const { store } = open()
    const jobs = Array.from({ length: 1200 }, (_, i) => job(`done-${i}`))
    await store.insert({ now: T0, jobs })
    const claimed = (await store.settleAndClaim({ now: T0, settle: [], claim: claim(['t'], 1200) })).claimed
    await store.settleAndClaim({ now: T0 + 10, settle: claimed.map((j) => ({ id: j.id, token: j.lease?.token ?? '', outcome: { kind: 'succeeded' as const } })) })
    let steps = 0
    for (const method of ['continue', 'advance'] as const) {
      const original = IDBCursor.prototype[method] as (this: IDBCursor, ...a: unknown[]) => void
      vi.spyOn(IDBCursor.prototype, method).mockImplementation(function (this: IDBCursor, ...a: unknown[]) {
        steps++
        original.apply(this, a)
      })
    }
    const out = await store.settleAndClaim({ now: T0 + 20, settle: [], retain: { keep: { succeeded: { count: 1000 } }, queues: ['default'], limit: 100 } })
    expect(out.retained).toEqual({ deleted: 100, more: true })
    // A count, then one read of the oldest 100: no cursor walks the index.
    expect(steps).toBeLessThanOrEqual(2)
    expect((await store.counts(T0 + 20)).succeeded).toBe(1100)
    expect(await store.getJob('done-99')).toBeUndefined()
    expect(await store.getJob('done-100')).toBeDefined()
  })
})
