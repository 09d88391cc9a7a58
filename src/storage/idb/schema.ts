/**
 * ferry's object stores and indexes in IndexedDB, versioned.
 *
 * The schema version is ferry's own, kept in the `ferry.meta` store under `'schema'`, because
 * the database may belong to the application (transactional enqueue): its IndexedDB version
 * number is then the application's, not ferry's. In a database ferry owns, the two agree.
 *
 * `MIGRATIONS[v]` takes ferry's stores from schema `v` to `v + 1`; a new schema version is one
 * more entry. A migration runs inside the upgrade transaction and may read and rewrite records
 * there (requests only: nothing else may be awaited in it). A database written by a newer ferry
 * is refused with a `StorageError` of code `SCHEMA_TOO_NEW` and left as it is.
 *
 * @module
 */
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb'
import { StorageError } from '../../core/errors.js'
import type { StoredBatch, StoredChain, StoredSchedule } from '../../core/store.js'
import type { JobRow } from './rows.js'

/** ferry's object stores, prefixed so that they can live beside an application's own. */
export const STORES = {
  jobs: 'ferry.jobs',
  chains: 'ferry.chains',
  batches: 'ferry.batches',
  schedules: 'ferry.schedules',
  meta: 'ferry.meta',
} as const

/**
 * The names of ferry's object stores: a transaction the application opens for transactional
 * enqueue must include all of them, in `readwrite` mode.
 * @example db.transaction(['photos', ...ferryStoreNames], 'readwrite')
 */
export const ferryStoreNames: readonly FerryStoreName[] = Object.values(STORES)

export interface FerryDB extends DBSchema {
  'ferry.jobs': {
    key: string
    value: JobRow
    indexes: {
      /** Schema 1 only: schema 2 drops it. */
      seq: number
      /** Schema 1: `['state', 'seq']` of every job; schema 2: `_ix.state`, active jobs left out. */
      state: [string, number]
      ready: [string, string, number, number, number]
      /** Schema 5: `_ix.readyRunAt`, waiting jobs in the `'runAt'` claim order. */
      readyRunAt: [string, string, number, number, number]
      /** Schema 5: `_ix.version`, multi-entry: `[version, seq]` of a job's dispatchedBy and processedBy. */
      version: [string, number]
      due: [string, number, number]
      delayed: number
      lease: [string, string, number]
      finished: number
      /**
       * `_ix.retain` of finished jobs: schema 3 `[state, finishedAt, seq]`, schema 4
       * `[queue, state, finishedAt, seq]`.
       */
      retain: [string, string, number, number] | [string, number, number]
      unique: [string, number]
      batch: [string, number]
      chain: [string, number]
    }
  }
  'ferry.chains': { key: string; value: StoredChain; indexes: { finished: number } }
  'ferry.batches': { key: string; value: StoredBatch; indexes: { finished: number } }
  'ferry.schedules': { key: string; value: StoredSchedule; indexes: { next: number } }
  /** `'seq'`: the last dispatch sequence number handed out; `'schema'`: ferry's schema version. */
  'ferry.meta': { key: string; value: number }
}

export type FerryStoreName = StoreNames<FerryDB>
export type FerryDatabase = IDBPDatabase<FerryDB>
export type UpgradeTx = IDBPTransaction<FerryDB, FerryStoreName[], 'versionchange'>
export type Migration = (db: FerryDatabase, tx: UpgradeTx) => void | Promise<void>

/**
 * Schema 1. Derived index fields live under `_ix` and exist only while a job is in the state
 * the index serves, so a claim reads waiting jobs only and never walks finished or delayed ones
 * (see `rows.ts`).
 */
const v1: Migration = (db) => {
  const jobs = db.createObjectStore(STORES.jobs, { keyPath: 'id' })
  jobs.createIndex('seq', 'seq', { unique: true })
  jobs.createIndex('state', ['state', 'seq'])
  jobs.createIndex('ready', '_ix.ready')
  jobs.createIndex('due', '_ix.due')
  jobs.createIndex('delayed', '_ix.delayed')
  jobs.createIndex('lease', '_ix.lease')
  jobs.createIndex('finished', '_ix.finished')
  jobs.createIndex('unique', ['uniqueKey', 'uniqueUntil'])
  jobs.createIndex('batch', ['batchId', 'seq'])
  jobs.createIndex('chain', ['chainId', 'seq'])
  db.createObjectStore(STORES.chains, { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore(STORES.batches, { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore(STORES.schedules, { keyPath: 'name' }).createIndex('next', 'nextRunAt')
  db.createObjectStore(STORES.meta)
}

/** Job records rewritten per request of the schema 2 migration. */
const MIGRATION_PAGE = 1000

/**
 * Schema 2: each put writes fewer index entries. The unique `seq` index of every job is gone
 * (a listing in dispatch order merges the `state` ranges, and `nextSeq` alone hands numbers
 * out), and `state` is keyed by `_ix.state`, which active jobs do not have: a claim and a
 * settlement each change one index fewer. Every job but the active ones gets its `_ix.state`.
 */
const v2: Migration = async (_db, tx) => {
  const jobs = tx.objectStore(STORES.jobs)
  jobs.deleteIndex('seq')
  jobs.deleteIndex('state')
  jobs.createIndex('state', '_ix.state')
  for (let after: string | undefined; ; ) {
    const rows = await jobs.getAll(after === undefined ? null : IDBKeyRange.lowerBound(after, true), MIGRATION_PAGE)
    const writes = rows.filter((r) => r.state !== 'active').map((r) => jobs.put({ ...r, _ix: { ...r._ix, state: [r.state, r.seq] } }))
    await Promise.all(writes)
    const last = rows[rows.length - 1]
    if (rows.length < MIGRATION_PAGE || !last) break
    after = last.id
  }
}

/**
 * Schema 3: the `retain` index, `_ix.retain` = `[state, finishedAt, seq]` of every finished job
 * (chains' and batches' too), from which retention reads a state's jobs in the order they
 * finished, from either end. The finished jobs, found by the `state` index, get their key.
 */
const v3: Migration = async (_db, tx) => {
  const jobs = tx.objectStore(STORES.jobs)
  jobs.createIndex('retain', '_ix.retain')
  const index = jobs.index('state')
  for (const state of ['succeeded', 'failed', 'cancelled']) {
    for (let after: [string, number] | undefined; ; ) {
      const rows = await index.getAll(IDBKeyRange.bound(after ?? [state], [state, []], after !== undefined), MIGRATION_PAGE)
      const writes = rows
        .filter((r) => r.finishedAt !== undefined)
        .map((r) => jobs.put({ ...r, _ix: { ...r._ix, retain: [r.state, r.finishedAt as number, r.seq] } }))
      await Promise.all(writes)
      const last = rows[rows.length - 1]
      if (rows.length < MIGRATION_PAGE || !last) break
      after = [state, last.seq]
    }
  }
}

/**
 * Schema 4: `_ix.retain` leads with the queue, `[queue, state, finishedAt, seq]`: retention
 * looks at the queues of the engine that applies it, and reads and counts the finished jobs of
 * one queue and state. The finished jobs, found by the `state` index, are rewritten page by page.
 */
const v4: Migration = async (_db, tx) => {
  const jobs = tx.objectStore(STORES.jobs)
  const index = jobs.index('state')
  for (const state of ['succeeded', 'failed', 'cancelled']) {
    for (let after: [string, number] | undefined; ; ) {
      const rows = await index.getAll(IDBKeyRange.bound(after ?? [state], [state, []], after !== undefined), MIGRATION_PAGE)
      const writes = rows
        .filter((r) => r.finishedAt !== undefined)
        .map((r) => jobs.put({ ...r, _ix: { ...r._ix, retain: [r.queue, r.state, r.finishedAt as number, r.seq] } }))
      await Promise.all(writes)
      const last = rows[rows.length - 1]
      if (rows.length < MIGRATION_PAGE || !last) break
      after = [state, last.seq]
    }
  }
}

/**
 * Schema 5: two indexes. `readyRunAt`, `_ix.readyRunAt` = `[queue, type, runAt, -priority, seq]`
 * of every waiting job: the `'runAt'` claim order, as `ready` is the `'priority'` one. And
 * `version`, multi-entry over `_ix.version` = `[version, seq]` of a job's `dispatchedBy` and
 * `processedBy`: `listJobs({ version })`. No job stored before has a version, so only the waiting
 * jobs, found by the `ready` index, are rewritten, page by page: each gets the key its `ready`
 * key orders it by, so every job a claim could take in one order it can take in the other (a
 * record changed by hand since it was indexed included). A record is never refused: one whose
 * key is not valid is only left out of the index.
 */
const v5: Migration = async (_db, tx) => {
  const jobs = tx.objectStore(STORES.jobs)
  jobs.createIndex('readyRunAt', '_ix.readyRunAt')
  jobs.createIndex('version', '_ix.version', { multiEntry: true })
  const index = jobs.index('ready')
  for (let after: [string, string, number, number, number] | undefined; ; ) {
    const rows = await index.getAll(after === undefined ? null : IDBKeyRange.lowerBound(after, true), MIGRATION_PAGE)
    const writes = rows.flatMap((r) => {
      // Read by that index, so each has its key.
      const key = r._ix?.ready
      if (!key) return []
      const [queue, type, negPriority, runAt, seq] = key
      return [jobs.put({ ...r, _ix: { ...r._ix, readyRunAt: [queue, type, runAt, negPriority, seq] } })]
    })
    await Promise.all(writes)
    const last = rows[rows.length - 1]?._ix?.ready
    if (rows.length < MIGRATION_PAGE || !last) break
    after = last
  }
}

/** Every schema version in order: `MIGRATIONS[v]` upgrades from `v` to `v + 1`. */
export const MIGRATIONS: readonly Migration[] = [v1, v2, v3, v4, v5]

/** The schema version this ferry reads and writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/** ferry's schema version in this database: 0 when its stores are not there. */
export async function schemaVersion(db: FerryDatabase, tx: IDBPTransaction<FerryDB, FerryStoreName[], IDBTransactionMode>): Promise<number> {
  if (!db.objectStoreNames.contains(STORES.meta)) return 0
  return (await tx.objectStore(STORES.meta).get('schema')) ?? 0
}

/**
 * Brings ferry's stores to the latest schema inside an upgrade transaction. Refuses a schema
 * newer than `migrations` knows. On any failure it aborts the upgrade, so nothing changes.
 */
export async function migrate(db: FerryDatabase, tx: UpgradeTx, migrations: readonly Migration[]): Promise<void> {
  try {
    const from = await schemaVersion(db, tx)
    if (from > migrations.length) throw tooNew(db.name, from, migrations.length)
    for (let v = from; v < migrations.length; v++) await (migrations[v] as Migration)(db, tx)
    if (from < migrations.length) await tx.objectStore(STORES.meta).put(migrations.length, 'schema')
  } catch (err) {
    // The error is reported by the caller: the transaction's own rejection is not news.
    tx.done.catch(() => undefined)
    try {
      tx.abort()
    } catch {
      // Finished already: the error below says why.
    }
    throw err
  }
}

export function tooNew(name: string, found: number | undefined, known: number): StorageError {
  return new StorageError(
    `IndexedDB database "${name}" holds ferry schema ${found ?? 'newer'}, written by a newer ferry; this one knows schema ${known} and leaves it untouched`,
    { code: 'SCHEMA_TOO_NEW' },
  )
}
