/**
 * The IndexedDB store's two claim orders in Chromium: `'priority'` reads the `ready` index and
 * `'runAt'` the `readyRunAt` index, each about `limit` records per queue and type however many
 * jobs wait; and a database of schema 4 is upgraded so that the waiting jobs an older ferry
 * stored are claimed in either order.
 */
import { deleteDB, openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineStore } from '../../src/core/define-store.js'
import { InvalidArgumentError } from '../../src/core/errors.js'
import type { ClaimOrder, NewJob, Store } from '../../src/core/store.js'
import { IdbBackend } from '../../src/storage/idb/backend.js'
import { Connection } from '../../src/storage/idb/connection.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/idb/schema.js'
import type { IdbDump } from '../fixtures/formats/idb-dump.js'
import v4 from '../fixtures/formats/idb-v4.json' with { type: 'json' }
import { deleteIdb, loadIdb } from '../fixtures/formats/load-idb.js'

const run = Date.now().toString(36)
let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanup.splice(0).reverse()) await c()
})

function open(): { name: string; backend: IdbBackend; store: Store } {
  const name = `ferry-claim-order-${run}-${++n}`
  const backend = new IdbBackend(new Connection({ name, migrations: MIGRATIONS }))
  const store = defineStore(backend)
  cleanup.push(async () => {
    await store.close()
    await deleteDB(name)
  })
  return { name, backend, store }
}

const T0 = 1000
const job = (id: string, o: Partial<NewJob> = {}): NewJob => ({ id, type: 't', queue: 'default', payload: id, priority: 0, maxAttempts: 3, backoff: 1000, runAt: T0, ...o })
const claim = (types: string[], limit: number, order?: ClaimOrder, now = T0) => ({
  owner: 'o',
  token: `k-${types.join()}-${order ?? 'default'}`,
  queues: ['default'],
  types,
  limit,
  leaseUntil: now + 60_000,
  ...(order ? { order } : {}),
})
const ids = (list: { id: string }[]): string[] => list.map((j) => j.id)

/** Counts the records every getAll hands back in this page, per index name (`''` for a store). */
function countReads(): Map<string, number> {
  const seen = new Map<string, number>()
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    for (const method of ['getAll', 'getAllKeys'] as const) {
      const original = proto[method] as (this: unknown, ...a: unknown[]) => IDBRequest<unknown[]>
      vi.spyOn(proto, method).mockImplementation(function (this: IDBObjectStore | IDBIndex, ...args: unknown[]) {
        const req = original.apply(this, args)
        const key = this instanceof IDBIndex ? this.name : ''
        req.addEventListener('success', () => seen.set(key, (seen.get(key) ?? 0) + req.result.length))
        return req
      } as never)
    }
    vi.spyOn(proto, 'openCursor').mockImplementation(() => {
      throw new Error('a claim opens no cursor')
    })
  }
  return seen
}
const total = (reads: Map<string, number>): number => [...reads.values()].reduce((a, b) => a + b, 0)

/**
 * 1,000 waiting jobs of each of two types, of high priority and late; among them, a few of low
 * priority that have been ready the longest.
 */
async function crowded(store: Store): Promise<void> {
  const late = (type: string) => Array.from({ length: 1000 }, (_, i) => job(`${type}-late-${i}`, { type, priority: 5, runAt: T0 - 10 }))
  await store.insert({
    now: T0,
    jobs: [
      ...late('a'),
      job('a-old-2', { type: 'a', priority: -1, runAt: T0 - 300 }),
      ...late('b'),
      job('b-old-1', { type: 'b', priority: 0, runAt: T0 - 400 }),
      job('a-old-1', { type: 'a', priority: 1, runAt: T0 - 400 }),
      job('b-old-3', { type: 'b', priority: 2, runAt: T0 - 200 }),
    ],
  })
}

describe('IndexedDB claim order (Chromium)', { timeout: 60_000 }, () => {
  it('reads the runAt order from its own index, about limit records per queue and type', async () => {
    const { backend, store } = open()
    await crowded(store)
    const scope = { queues: ['default'], types: ['a', 'b'] }
    const reads = countReads()
    const first = await backend.read((tx) => tx.ready(scope, 3, 'runAt'))
    // Earliest runAt first; at equal runAt the higher priority, then dispatch order.
    expect(ids(first)).toEqual(['a-old-1', 'b-old-1', 'a-old-2'])
    expect(Object.fromEntries(reads)).toEqual({ readyRunAt: 6 })
    reads.clear()
    const byPriority = await backend.read((tx) => tx.ready(scope, 3))
    expect(ids(byPriority)).toEqual(['a-late-0', 'a-late-1', 'a-late-2'])
    expect(Object.fromEntries(reads)).toEqual({ ready: 6 })
    reads.clear()
    expect(ids(await backend.read((tx) => tx.ready(scope, 2, 'priority')))).toEqual(['a-late-0', 'a-late-1'])
    expect(total(reads)).toBe(4)
  })

  it('refuses an order it does not know', async () => {
    const { backend, store } = open()
    await store.insert({ now: T0, jobs: [job('one')] })
    const err = await backend.read((tx) => tx.ready({ queues: ['default'], types: ['t'] }, 1, 'fifo' as ClaimOrder)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect(String(err)).toContain('fifo')
  })

  it('claims in runAt order when asked, reading about limit records per type', async () => {
    const { store } = open()
    await crowded(store)
    const reads = countReads()
    const out = await store.settleAndClaim({ now: T0, settle: [], claim: claim(['a', 'b'], 4, 'runAt') })
    expect(ids(out.claimed)).toEqual(['a-old-1', 'b-old-1', 'a-old-2', 'b-old-3'])
    expect(reads.get('readyRunAt')).toBeLessThanOrEqual(2 * 20)
    expect(reads.get('ready') ?? 0).toBe(0)
    // The default order is untouched, and the jobs claimed left both indexes.
    const next = await store.settleAndClaim({ now: T0, settle: [], claim: claim(['a', 'b'], 2) })
    expect(ids(next.claimed)).toEqual(['a-late-0', 'a-late-1'])
    const after = await store.settleAndClaim({ now: T0, settle: [], claim: claim(['b'], 1, 'runAt') })
    expect(ids(after.claimed)).toEqual(['b-late-0'])
  })

  it('keeps a waiting job in readyRunAt only while it waits', async () => {
    const { name, store } = open()
    await store.insert({ now: T0, jobs: [job('w'), job('later', { runAt: T0 + 5000 }), job('run', { type: 'r' })] })
    await store.settleAndClaim({ now: T0, settle: [], claim: claim(['r'], 1, 'runAt') })
    const db = await openDB(name)
    try {
      const jobs = db.transaction('ferry.jobs').store
      expect((await jobs.getAllKeys()).sort()).toEqual(['later', 'run', 'w'])
      expect(await jobs.index('readyRunAt').getAllKeys()).toEqual(['w'])
      const row = (await jobs.get('w')) as { seq: number; _ix: Record<string, unknown> }
      expect(row._ix['readyRunAt']).toEqual(['default', 't', T0, 0, row.seq])
    } finally {
      db.close()
    }
  })
})

describe('IndexedDB schema 4 upgraded to the current schema (Chromium)', { timeout: 60_000 }, () => {
  const dump = v4 as unknown as IdbDump
  /** The fixture's waiting jobs: all of type 'later' in queue 'default'. */
  const byRunAt = ['chain-running-1', 'batch-running-1', 'batch-running-2', 'waiting-high', 'waiting-default', 'unique-1', 'waiting-low']
  const byPriority = ['waiting-high', 'chain-running-1', 'batch-running-1', 'batch-running-2', 'waiting-default', 'unique-1', 'waiting-low']
  const openAt = 1767272400000

  async function load(d: IdbDump = dump): Promise<string> {
    const name = `ferry-claim-order-v4-${run}-${++n}`
    await loadIdb(d, name)
    cleanup.push(() => deleteIdb(name))
    return name
  }

  it('indexes the waiting jobs an older ferry stored for both orders', async () => {
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(5)
    const name = await load()
    const backend = new IdbBackend(new Connection({ name, migrations: MIGRATIONS }))
    const scope = { queues: ['default'], types: ['later'] }
    try {
      // Upgraded by the first call, which the reads counted below do not include.
      await backend.read((tx) => tx.getJob('waiting-high'))
      const reads = countReads()
      expect(ids(await backend.read((tx) => tx.ready(scope, 10, 'runAt')))).toEqual(byRunAt)
      expect(ids(await backend.read((tx) => tx.ready(scope, 10, 'priority')))).toEqual(byPriority)
      expect(Object.fromEntries(reads)).toEqual({ readyRunAt: 7, ready: 7 })
    } finally {
      await backend.close()
    }
    const db = await openDB(name)
    try {
      const jobs = db.transaction('ferry.jobs').store
      expect((await jobs.index('readyRunAt').getAllKeys()).sort()).toEqual([...byRunAt].sort())
      const high = (await jobs.get('waiting-high')) as { _ix: Record<string, unknown> }
      expect(high._ix).toEqual({ state: ['waiting', 27], ready: ['default', 'later', -10, 1767268920000, 27], readyRunAt: ['default', 'later', 1767268920000, -10, 27] })
    } finally {
      db.close()
    }
  })

  it('claims the old waiting jobs in runAt order after the upgrade', async () => {
    const store = idbStore({ name: await load() })
    cleanup.push(() => store.close())
    const claimed: string[] = []
    for (let i = 0; i < byRunAt.length; i++) {
      const out = await store.settleAndClaim({ now: openAt, settle: [], claim: { ...claim(['later'], 1, 'runAt', openAt), token: `k${i}` } })
      claimed.push(...ids(out.claimed))
    }
    expect(claimed).toEqual(byRunAt)
  })

  it('fills the runAt index for more waiting jobs than one page of the migration, and only for them', async () => {
    // A schema 4 database, written by this store with schema 4's migrations and the schema 5
    // index fields taken out of its records again: as ferry schema 4 left it.
    const name = `ferry-claim-order-pages-${run}-${++n}`
    cleanup.push(() => deleteIdb(name))
    const old = defineStore(new IdbBackend(new Connection({ name, migrations: MIGRATIONS.slice(0, 4) })))
    const waiting = Array.from({ length: 2500 }, (_, i) =>
      job(`w-${i}`, { type: i % 2 === 0 ? 'a' : 'b', priority: i % 7, runAt: T0 - ((i * 7919) % 2503) }),
    )
    await old.insert({ now: T0, jobs: [...waiting, job('later', { type: 'a', runAt: T0 + 5000 })] })
    await old.close()
    const db = await openDB(name)
    try {
      expect(db.version).toBe(4)
      const tx = db.transaction('ferry.jobs', 'readwrite')
      for (const row of (await tx.store.getAll()) as { _ix: Record<string, unknown> }[]) {
        delete row._ix['readyRunAt']
        delete row._ix['version']
        await tx.store.put(row)
      }
      await tx.done
    } finally {
      db.close()
    }
    const backend = new IdbBackend(new Connection({ name, migrations: MIGRATIONS }))
    try {
      const first = await backend.read((tx) => tx.ready({ queues: ['default'], types: ['a', 'b'] }, 5, 'runAt'))
      const stored = await backend.read((tx) => Promise.all(waiting.map((j) => tx.getJob(j.id))))
      const expected = stored
        .map((j) => j as { id: string; runAt: number; priority: number; seq: number })
        .sort((x, y) => x.runAt - y.runAt || y.priority - x.priority || x.seq - y.seq)
      expect(ids(first)).toEqual(ids(expected.slice(0, 5)))
    } finally {
      await backend.close()
    }
    const upgraded = await openDB(name)
    try {
      const keys = await upgraded.transaction('ferry.jobs').store.index('readyRunAt').getAllKeys()
      expect(keys).toHaveLength(2500)
      expect(keys).not.toContain('later')
    } finally {
      upgraded.close()
    }
  })

  it('upgrades a waiting job whose record was changed by hand, claimable as its old index key says', async () => {
    // A waiting record whose priority is no longer a number: the migration keys it by the
    // claim-order key it was stored with, and refuses nothing.
    const damaged: IdbDump = {
      ...dump,
      stores: dump.stores.map((s) =>
        s.name !== 'ferry.jobs'
          ? s
          : { ...s, records: s.records.map((r) => (r.key === 'waiting-low' ? { ...r, value: { ...(r.value as object), priority: 'low' } } : r)) },
      ),
    }
    const name = await load(damaged)
    const backend = new IdbBackend(new Connection({ name, migrations: MIGRATIONS }))
    try {
      const found = await backend.read((tx) => tx.ready({ queues: ['default'], types: ['later'] }, 10, 'runAt'))
      expect(ids(found)).toContain('waiting-low')
      expect(ids(found).slice(0, 3)).toEqual(byRunAt.slice(0, 3))
    } finally {
      await backend.close()
    }
  })
})
