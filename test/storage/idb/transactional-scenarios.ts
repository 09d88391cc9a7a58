/**
 * Transactional enqueue: ferry's stores in the application's database, a job written in the
 * application's own transaction. Shared by the Node and Chromium test files.
 */
import { deleteDB, openDB, unwrap, type IDBPDatabase } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError, SerializationError, StorageError, createQueue, job, type Queue } from '../../../src/index.js'
import { ferryStoreNames, idbStore, upgradeFerryStores } from '../../../src/storage/idb/index.js'
import { queueOn } from './engine-scenarios.js'

interface Photo {
  id: string
  name: string
}

type Outcome<T> = { value: T } | { error: unknown } | 'still pending'

/** How `p` settles, or 'still pending' after a bound far above any wait it should have. */
function within<T>(p: Promise<T>, ms = 5_000): Promise<Outcome<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<Outcome<T>>((resolve) => (timer = setTimeout(() => resolve('still pending'), ms)))
  return Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), late]).finally(() => clearTimeout(timer))
}

export function transactionalScenarios(label: string): void {
  // Real databases opened and deleted per test: seconds on a busy machine.
  describe(`transactional enqueue (${label})`, { timeout: 30_000 }, () => {
    const run = Date.now().toString(36)
    let n = 0
    const cleanup: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c()
    })

    /** The application's database: its own 'photos' store and ferry's, at version `version`. */
    async function appDb(name = `app-${run}-${++n}`, version = 1): Promise<IDBPDatabase> {
      const db = await openDB(name, version, {
        upgrade(db, oldVersion, _newVersion, tx) {
          if (oldVersion < 1) db.createObjectStore('photos', { keyPath: 'id' })
          if (oldVersion < 2 && version >= 2) tx.objectStore('photos').createIndex('name', 'name')
          void upgradeFerryStores(db, tx)
        },
      })
      cleanup.push(async () => {
        db.close()
        await deleteDB(name)
      })
      return db
    }

    function queueFor(db: IDBPDatabase): Queue {
      const queue = createQueue({ store: idbStore({ open: () => db }) })
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      return queue
    }

    it('commits the application\'s record and the job together', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p1', name: 'cat.jpg' } satisfies Photo)
      const { id } = await queue.dispatch(job('photo:upload', { photo: 'p1' }), { tx })
      await tx.done
      expect(await db.get('photos', 'p1')).toEqual({ id: 'p1', name: 'cat.jpg' })
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', payload: { photo: 'p1' } })
    })

    it('writes neither when the application aborts its transaction', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p2', name: 'dog.jpg' } satisfies Photo)
      const { id } = await queue.dispatch(job('photo:upload', { photo: 'p2' }), { tx })
      tx.abort()
      await expect(tx.done).rejects.toMatchObject({ name: 'AbortError' })
      expect(await db.get('photos', 'p2')).toBeUndefined()
      expect(await queue.getJob(id)).toBeUndefined()
      expect((await queue.counts()).waiting).toBe(0)
    })

    it('accepts a raw IDBTransaction, and chains and batches in the transaction', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const raw = unwrap(db).transaction(['photos', ...ferryStoreNames], 'readwrite')
      raw.objectStore('photos').put({ id: 'p3', name: 'album' } satisfies Photo)
      const chainId = await queue.chain(job('a', 1), job('b', 2)).dispatch({ tx: raw })
      const batchId = await queue.batch(job('c', 1), job('c', 2)).dispatch({ tx: raw })
      await new Promise<void>((resolve, reject) => {
        raw.oncomplete = () => resolve()
        raw.onabort = () => reject(raw.error ?? new Error('aborted'))
      })
      expect(await db.get('photos', 'p3')).toMatchObject({ name: 'album' })
      expect((await queue.findChain(chainId)).steps.map((s) => s.state)).toEqual(['waiting', 'blocked'])
      expect(await queue.findBatch(batchId)).toMatchObject({ total: 2, pending: 2 })
    })

    it('runs the job once the application commits, on an engine already started', async () => {
      const db = await appDb()
      const store = idbStore({ open: () => db })
      const { queue, until } = queueOn(store, {}, cleanup)
      queue.register('photo:upload', (p) => `uploaded ${(p as { photo: string }).photo}`)
      await queue.start()
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p4', name: 'bird.jpg' } satisfies Photo)
      const { id } = await queue.dispatch(job('photo:upload', { photo: 'p4' }), { tx })
      await tx.done
      await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(await queue.getJob(id)).toMatchObject({ result: 'uploaded p4' })
    })

    it('aborts the application\'s transaction when ferry\'s part fails, so nothing is half-written', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p5', name: 'bad.jpg' } satisfies Photo)
      const err = await queue.dispatchMany([job('ok', 1), job('bad', { fn: () => 1 })], { tx }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SerializationError)
      await expect(tx.done).rejects.toBeDefined()
      expect(await db.get('photos', 'p5')).toBeUndefined()
      expect(await queue.listJobs()).toEqual([])
    })

    it('refuses a transaction that is read-only, lacks ferry\'s stores, or is not a transaction', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const readonly = db.transaction(['photos', ...ferryStoreNames], 'readonly')
      await expect(queue.dispatch(job('t', 1), { tx: readonly })).rejects.toBeInstanceOf(InvalidArgumentError)
      const partial = db.transaction(['photos'], 'readwrite')
      await expect(queue.dispatch(job('t', 1), { tx: partial })).rejects.toThrow(/ferry\.jobs/)
      await expect(queue.dispatch(job('t', 1), { tx: {} })).rejects.toBeInstanceOf(InvalidArgumentError)
      await partial.done
    })

    it('refuses a transaction of another database, before or after the store first connects, and writes nothing anywhere', async () => {
      const mine = await appDb()
      const other = await appDb()
      const own = idbStore({ name: `own-${run}-${++n}` })
      cleanup.push(async () => {
        await own.close()
        await deleteDB(`own-${run}-${n}`)
      })
      // A fresh queue on the application's database (nothing has connected yet), the same once
      // it has, and one on a database of its own.
      const fresh = () => queueFor(mine)
      const connected = queueFor(mine)
      await connected.counts()
      const byName = createQueue({ store: own })
      cleanup.push(() => byName.close({ timeoutMs: 100 }))
      for (const [phase, queue] of [['fresh', fresh()], ['connected', connected], ['by name', byName]] as const) {
        const tx = other.transaction(['photos', ...ferryStoreNames], 'readwrite')
        await tx.objectStore('photos').put({ id: phase, name: 'x.jpg' } satisfies Photo)
        const err = await queue.dispatch(job('t', 1), { tx }).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(InvalidArgumentError)
        expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/another database|belongs to database/) as unknown })
        // The refusal leaves the application's transaction alone: its record commits.
        expect(await within(tx.done), phase).toEqual({ value: undefined })
        expect(await other.get('photos', phase), phase).toEqual({ id: phase, name: 'x.jpg' })
        expect(await queue.counts()).toMatchObject({ waiting: 0 })
      }
      // No job was written in the other database either.
      expect(await other.count(ferryStoreNames[0] as never)).toBe(0)
      expect(await queueFor(other).listJobs()).toEqual([])
    })

    /** The application's database at version 2, opened once by whoever asks first: `idbStore`'s `open`. */
    function upgradeTo2(name: string): () => Promise<IDBPDatabase> {
      let v2: Promise<IDBPDatabase> | undefined
      cleanup.push(async () => (await v2)?.close())
      return () =>
        (v2 ??= openDB(name, 2, {
          upgrade(db, oldVersion, _newVersion, tx) {
            if (oldVersion < 1) db.createObjectStore('photos', { keyPath: 'id' })
            void upgradeFerryStores(db, tx)
          },
        }))
    }

    it('takes a { tx } on a store that has not connected yet, when open() gives a promise of the open connection', async () => {
      const db = await appDb()
      const opened = Promise.resolve(db)
      const queue = createQueue({ store: idbStore({ open: async () => opened }) })
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p10', name: 'first.jpg' } satisfies Photo)
      const { id } = await queue.dispatch(job('photo:upload', { photo: 'p10' }), { tx })
      await tx.done
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', payload: { photo: 'p10' } })
    })

    it('refuses a { tx } while open() waits on an upgrade that the transaction\'s own connection holds up, and leaves the transaction alone', async () => {
      const name = `app-${run}-${++n}`
      const v1 = await appDb(name, 1)
      // The application closes its old connection when asked to, and opens version 2 in open().
      v1.addEventListener('versionchange', () => v1.close())
      const open = upgradeTo2(name)
      const queue = createQueue({ store: idbStore({ open }) })
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      const tx = v1.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p6', name: 'old.jpg' } satisfies Photo)
      // The upgrade waits for v1, which waits for this transaction: waiting for open() here never ends.
      expect(await within(queue.dispatch(job('photo:upload', { photo: 'p6' }), { tx }))).toMatchObject({
        error: { code: 'DATABASE_OPENING', message: expect.stringMatching(/open\(\)/) as unknown },
      })
      expect(await within(tx.done)).toEqual({ value: undefined })
      // The upgrade then runs; the record is kept and the store works on the new connection.
      const v2 = await open()
      expect(await v2.get('photos', 'p6')).toEqual({ id: 'p6', name: 'old.jpg' })
      const tx2 = v2.transaction(['photos', ...ferryStoreNames], 'readwrite')
      const { id } = await queue.dispatch(job('photo:upload', { photo: 'p6' }), { tx: tx2 })
      await tx2.done
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', payload: { photo: 'p6' } })
    })

    it('refuses a { tx } while open() waits on an upgrade blocked by a connection that does not close, and leaves the transaction alone', async () => {
      const name = `app-${run}-${++n}`
      const v1 = await appDb(name, 1)
      const queue = createQueue({ store: idbStore({ open: upgradeTo2(name) }) })
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      const tx = v1.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p7', name: 'kept.jpg' } satisfies Photo)
      expect(await within(queue.dispatch(job('t', 1), { tx }))).toMatchObject({ error: { code: 'DATABASE_OPENING' } })
      expect(await within(tx.done)).toEqual({ value: undefined })
      expect(await v1.get('photos', 'p7')).toEqual({ id: 'p7', name: 'kept.jpg' })
      expect(await v1.count(ferryStoreNames[0] as never)).toBe(0)
      v1.close()
    })

    it('does not hold a { tx } of another database open while open() of its own is blocked', async () => {
      const x = `app-${run}-${++n}`
      const xv1 = await appDb(x, 1)
      const y = await appDb()
      const queue = createQueue({ store: idbStore({ open: upgradeTo2(x) }) })
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      const tx = y.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.objectStore('photos').put({ id: 'p8', name: 'y.jpg' } satisfies Photo)
      const outcome = await within(queue.dispatch(job('t', 1), { tx }))
      expect(outcome).toMatchObject({ error: { code: 'DATABASE_OPENING' } })
      expect(await within(tx.done)).toEqual({ value: undefined })
      // The application's own writes on its other database go on.
      expect(await within(y.put('photos', { id: 'p9', name: 'next.jpg' } satisfies Photo))).toEqual({ value: 'p9' })
      expect(await y.get('photos', 'p8')).toEqual({ id: 'p8', name: 'y.jpg' })
      expect(await y.count(ferryStoreNames[0] as never)).toBe(0)
      xv1.close()
    })

    it('rejects a transaction that already finished with TRANSACTION_INACTIVE', async () => {
      const db = await appDb()
      const queue = queueFor(db)
      const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
      await tx.done
      await expect(queue.dispatch(job('t', 1), { tx })).rejects.toMatchObject({ code: 'TRANSACTION_INACTIVE' })
    })

    it('says what to do when the application\'s database has no ferry stores', async () => {
      const name = `plain-${run}-${++n}`
      const db = await openDB(name, 1, { upgrade: (d) => void d.createObjectStore('photos') })
      cleanup.push(async () => {
        db.close()
        await deleteDB(name)
      })
      const err = await idbStore({ open: () => db }).counts(0).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StorageError)
      expect(err).toMatchObject({ code: 'SCHEMA_MISSING', message: expect.stringMatching(/upgradeFerryStores/) })
    })

    it('keeps ferry\'s jobs when the application upgrades its database', async () => {
      const name = `app-${run}-${++n}`
      const v1 = await openDB(name, 1, {
        upgrade(db, _o, _n, tx) {
          db.createObjectStore('photos', { keyPath: 'id' })
          void upgradeFerryStores(db, tx)
        },
      })
      const before = createQueue({ store: idbStore({ open: () => v1 }) })
      const { id } = await before.dispatch(job('t', 'kept'))
      await before.close()
      v1.close()
      const v2 = await appDb(name, 2)
      expect(v2.objectStoreNames.contains('photos')).toBe(true)
      expect(await queueFor(v2).getJob(id)).toMatchObject({ state: 'waiting', payload: 'kept' })
    })
  })
}
