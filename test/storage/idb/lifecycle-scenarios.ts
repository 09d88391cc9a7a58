/**
 * The database's life outside one store call: schema versions (an older database migrates, a
 * newer one is refused untouched), and connections closed from outside (another connection
 * upgrading or deleting the database). Shared by the Node and Chromium test files.
 */
import { deleteDB, openDB, unwrap, type IDBPDatabase } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import { StorageError, job, type Store } from '../../../src/index.js'
import { IdbBackend } from '../../../src/storage/idb/backend.js'
import { Connection } from '../../../src/storage/idb/connection.js'
import { SCHEMA_VERSION, idbStore, upgradeFerryStores } from '../../../src/storage/idb/index.js'
import { MIGRATIONS, type Migration } from '../../../src/storage/idb/schema.js'
import { queueOn } from './engine-scenarios.js'

/** ferry schema 1 exactly as it was released, written without ferry's code. */
function createSchema1ByHand(db: IDBPDatabase): void {
  const jobs = db.createObjectStore('ferry.jobs', { keyPath: 'id' })
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
  db.createObjectStore('ferry.chains', { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore('ferry.batches', { keyPath: 'id' }).createIndex('finished', 'finishedAt')
  db.createObjectStore('ferry.schedules', { keyPath: 'name' }).createIndex('next', 'nextRunAt')
  db.createObjectStore('ferry.meta')
}

const base = { type: 't', queue: 'default', priority: 0, maxAttempts: 3, backoff: 1000, createdAt: 500 }

export function lifecycleScenarios(label: string): void {
  const run = Date.now().toString(36)
  let n = 0
  const fresh = (): string => `ferry-life-${run}-${++n}`
  const cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c()
  })
  const store = (name: string, migrations?: readonly Migration[]): Store => {
    const s = migrations ? defineStore(new IdbBackend(new Connection({ name, migrations }))) : idbStore({ name })
    cleanup.push(async () => {
      await s.close()
      await deleteDB(name)
    })
    return s
  }

  // Real databases opened, upgraded and closed: seconds on a busy machine.
  describe(`schema versions (${label})`, { timeout: 30_000 }, () => {
    it('opens a database of ferry schema 1 made by hand and runs its jobs', async () => {
      const name = fresh()
      const db = await openDB(name, 1, {
        upgrade(db, _o, _n, tx) {
          createSchema1ByHand(db)
          void tx.objectStore('ferry.meta').put(1, 'schema')
          void tx.objectStore('ferry.meta').put(7, 'seq')
          void tx.objectStore('ferry.jobs').put({ ...base, id: 'old-done', payload: null, state: 'succeeded', attempt: 1, runAt: 500, finishedAt: 900, seq: 6, _ix: { finished: 900 } })
          void tx.objectStore('ferry.jobs').put({ ...base, id: 'old-waiting', payload: { from: 'v1' }, state: 'waiting', attempt: 0, runAt: 1000, seq: 7, _ix: { ready: ['default', 't', 0, 1000, 7] } })
        },
      })
      db.close()
      const s = store(name)
      const before = await s.getJob('old-waiting')
      expect(before).toMatchObject({ state: 'waiting', payload: { from: 'v1' }, seq: 7 })
      expect(before).not.toHaveProperty('_ix')
      const { queue, until } = queueOn(s, {}, [])
      queue.register('t', (p) => p)
      await queue.start()
      await until((e) => e.kind === 'job:succeeded' && e.jobId === 'old-waiting')
      const { id } = await queue.dispatch(job('later', null))
      expect((await s.getJob(id))?.seq).toBe(8)
      await queue.stop()
      expect(await s.prune({ before: 1000 })).toBe(1)
      expect(await s.getJob('old-done')).toBeUndefined()
    })

    it('refuses a database written by a newer ferry with SCHEMA_TOO_NEW and leaves it untouched', async () => {
      const name = fresh()
      const newer = SCHEMA_VERSION + 1
      const db = await openDB(name, newer, {
        upgrade(db, _o, _n, tx) {
          db.createObjectStore('ferry.jobs', { keyPath: 'id' })
          db.createObjectStore('ferry.future')
          void tx.objectStore('ferry.jobs').put({ id: 'from-the-future', shape: 'unknown' })
        },
      })
      db.close()
      const err = await store(name).counts(0).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect(err).toMatchObject({ code: 'SCHEMA_TOO_NEW', message: expect.stringContaining(`schema ${newer}`) })
      const after = await openDB(name)
      expect(after.version).toBe(newer)
      expect([...after.objectStoreNames].sort()).toEqual(['ferry.future', 'ferry.jobs'])
      expect(await after.get('ferry.jobs', 'from-the-future')).toEqual({ id: 'from-the-future', shape: 'unknown' })
      after.close()
    })

    it('migrates with one more entry in the migration table, keeping the jobs, and the older code then refuses it', async () => {
      const name = fresh()
      const v1 = store(name)
      await v1.insert({ now: 1000, jobs: [{ id: 'kept', type: 't', queue: 'default', payload: 1, priority: 0, maxAttempts: 1, backoff: 0, runAt: 1000 }] })
      await v1.close()
      const v2: Migration = (_db, tx) => {
        unwrap(tx).objectStore('ferry.jobs').createIndex('byType', 'type')
      }
      const s2 = store(name, [...MIGRATIONS, v2])
      expect(await s2.getJob('kept')).toMatchObject({ state: 'waiting', payload: 1 })
      await s2.close()
      const raw = await openDB(name)
      expect(raw.version).toBe(SCHEMA_VERSION + 1)
      expect(await raw.get('ferry.meta', 'schema')).toBe(SCHEMA_VERSION + 1)
      expect(await raw.countFromIndex('ferry.jobs', 'byType', 't')).toBe(1)
      raw.close()
      await expect(idbStore({ name }).getJob('kept')).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' })
    })

    it('refuses a database of that name that is not ferry\'s, with SCHEMA_MISSING', async () => {
      const name = fresh()
      const other = await openDB(name, 1, { upgrade: (db) => void db.createObjectStore('notes') })
      other.close()
      await expect(store(name).counts(0)).rejects.toMatchObject({ name: 'StorageError', code: 'SCHEMA_MISSING' })
    })

    it('aborts an application\'s upgrade when its ferry stores are newer than this ferry', async () => {
      const name = fresh()
      const db = await openDB(name, 1, {
        upgrade(db, _o, _n, tx) {
          createSchema1ByHand(db)
          db.createObjectStore('photos')
          void tx.objectStore('ferry.meta').put(99, 'schema')
        },
      })
      await expect(idbStore({ open: () => db }).counts(0)).rejects.toMatchObject({ code: 'SCHEMA_TOO_NEW' })
      db.close()
      const upgrade = openDB(name, 2, {
        upgrade(db, _o, _n, tx) {
          db.createObjectStore('albums')
          void upgradeFerryStores(db, tx)
        },
      })
      await expect(upgrade).rejects.toBeDefined()
      const after = await openDB(name)
      expect(after.version).toBe(1)
      expect(after.objectStoreNames.contains('albums')).toBe(false)
      after.close()
      await deleteDB(name)
    })
  })

  describe(`connections closed from outside (${label})`, { timeout: 30_000 }, () => {
    const insertOne = (s: Store, id: string) =>
      s.insert({ now: 1000, jobs: [{ id, type: 't', queue: 'default', payload: id, priority: 0, maxAttempts: 1, backoff: 0, runAt: 1000 }] })

    it('lets another connection upgrade the database, then says the database is newer instead of hanging', async () => {
      const name = fresh()
      const s = store(name)
      await insertOne(s, 'a')
      let blocked = false
      const other = await openDB(name, SCHEMA_VERSION + 1, { blocked: () => void (blocked = true) })
      expect(blocked).toBe(false)
      other.close()
      const err = await s.counts(0).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect(err).toMatchObject({ code: 'SCHEMA_TOO_NEW' })
    })

    it('lets another connection delete the database, and works on a fresh one at the next call', async () => {
      const name = fresh()
      const s = store(name)
      await insertOne(s, 'a')
      await deleteDB(name, { blocked: () => expect.fail('the store blocked the deletion') })
      expect((await s.counts(0)).waiting).toBe(0)
      await insertOne(s, 'b')
      expect(await s.getJob('b')).toMatchObject({ state: 'waiting' })
    })

    it('reports an upgrade blocked by a connection that never closes with DATABASE_BLOCKED', async () => {
      const name = fresh()
      await store(name).counts(0)
      // An old connection that ignores versionchange: it blocks every upgrade.
      const stubborn = await openDB(name, SCHEMA_VERSION)
      const v2: Migration = () => undefined
      const s2 = store(name, [...MIGRATIONS, v2])
      await expect(s2.counts(0)).rejects.toMatchObject({ code: 'DATABASE_BLOCKED' })
      stubborn.close()
      await expect.poll(() => s2.counts(0).then(() => 'open', (e: { code?: string }) => e.code ?? 'error'), { timeout: 20_000 }).toBe('open')
    })

    it('keeps an engine running when another connection deletes the database under it', async () => {
      const name = fresh()
      const s = store(name)
      const { queue, until } = queueOn(s, {}, [])
      queue.register('t', (p) => p)
      await queue.start()
      const first = await queue.dispatch(job('t', 1))
      await until((e) => e.kind === 'job:succeeded' && e.jobId === first.id)
      await deleteDB(name)
      const second = await queue.dispatch(job('t', 2))
      await until((e) => e.kind === 'job:succeeded' && e.jobId === second.id)
      expect(await queue.getJob(first.id)).toBeUndefined()
      await queue.stop({ timeoutMs: 100 })
    })
  })
}
