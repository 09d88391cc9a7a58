/**
 * Failures that real browsers produce but are hard to provoke on purpose: a connection the
 * browser closes (fake-indexeddb's `forceCloseDatabase`), a full origin (a `put` made to throw
 * QuotaExceededError), values that cannot be cloned.
 */
import 'fake-indexeddb/auto'
import { forceCloseDatabase } from 'fake-indexeddb'
import { deleteDB, unwrap } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import { SerializationError, StorageFullError, job, type Store } from '../../../src/index.js'
import { IdbBackend } from '../../../src/storage/idb/backend.js'
import { Connection } from '../../../src/storage/idb/connection.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { MIGRATIONS } from '../../../src/storage/idb/schema.js'
import { queueOn } from './engine-scenarios.js'

let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A store whose connection the test can reach, to close it the way a browser would. */
function exposed(): { store: Store; conn: Connection; name: string } {
  const name = `faults-${++n}`
  const conn = new Connection({ name, migrations: MIGRATIONS })
  const store = defineStore(new IdbBackend(conn))
  cleanup.push(async () => {
    await store.close()
    await deleteDB(name)
  })
  return { store, conn, name }
}

const newJob = (id: string, payload: unknown = id) => ({ id, type: 't', queue: 'default', payload, priority: 0, maxAttempts: 1, backoff: 0, runAt: 1000 })

/** fake-indexeddb's forced close (its typings ask for the class, it takes a connection). */
function closeAsBrowser(db: IDBDatabase): void {
  forceCloseDatabase(db as unknown as typeof IDBDatabase)
}

async function forceClose(conn: Connection): Promise<void> {
  closeAsBrowser(unwrap(await conn.database()))
}

describe('a connection the browser closes', () => {
  it('is dropped, and the next call reconnects', async () => {
    const { store, conn } = exposed()
    await store.insert({ now: 1000, jobs: [newJob('a')] })
    const first = await conn.database()
    await forceClose(conn)
    expect(await store.getJob('a')).toMatchObject({ state: 'waiting' })
    expect(await conn.database()).not.toBe(first)
  })

  it('fails a transaction it cuts off with DATABASE_CLOSED, writing nothing of it', async () => {
    const { store, conn } = exposed()
    const db = unwrap(await conn.database())
    const opened: IDBTransaction[] = []
    const transaction = IDBDatabase.prototype.transaction
    vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = transaction.apply(this, args)
      opened.push(tx)
      return tx
    })
    const inserting = store.insert({ now: 1000, jobs: Array.from({ length: 500 }, (_, i) => newJob(`j${i}`)) })
    await new Promise((r) => setImmediate(r))
    // What a browser does on a forced close (fake-indexeddb waits for transactions instead):
    // abort the connection's transactions, then fire 'close'.
    opened.at(-1)?.abort()
    closeAsBrowser(db)
    await expect(inserting).rejects.toMatchObject({ name: 'StorageError', code: 'DATABASE_CLOSED' })
    vi.restoreAllMocks()
    expect((await store.counts(1000)).waiting).toBe(0)
  })

  it('does not stop an engine: it reports the error and goes on', async () => {
    const { store, conn } = exposed()
    const { queue, until } = queueOn(store, {}, cleanup)
    queue.register('t', (p) => p)
    await queue.start()
    const first = await queue.dispatch(job('t', 1))
    await until((e) => e.kind === 'job:succeeded' && e.jobId === first.id)
    await forceClose(conn)
    const second = await queue.dispatch(job('t', 2))
    await until((e) => e.kind === 'job:succeeded' && e.jobId === second.id)
  })

  it('in an application\'s database, asks the application for its connection again', async () => {
    const name = `faults-app-${++n}`
    const { openDB } = await import('idb')
    const { upgradeFerryStores } = await import('../../../src/storage/idb/index.js')
    let opened = 0
    let current: Awaited<ReturnType<typeof openDB>> | undefined
    const open = async () => {
      opened++
      current = await openDB(name, 1, { upgrade: (db, _o, _n, tx) => void upgradeFerryStores(db, tx) })
      return current
    }
    const store = idbStore({ open })
    cleanup.push(async () => {
      await store.close()
      current?.close()
      await deleteDB(name)
    })
    await store.insert({ now: 1000, jobs: [newJob('a')] })
    closeAsBrowser(unwrap(current as NonNullable<typeof current>))
    expect(await store.getJob('a')).toMatchObject({ state: 'waiting' })
    expect(opened).toBe(2)
  })
})

/** Makes every `put` throw QuotaExceededError while `full.on` is true. */
function fillUp(): { on: boolean } {
  const full = { on: true }
  const put = IDBObjectStore.prototype.put
  vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    if (full.on) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    return put.apply(this, args)
  })
  return full
}

describe('a full origin', () => {
  it('rejects a write with StorageFullError and writes nothing', async () => {
    const { store } = exposed()
    await store.insert({ now: 1000, jobs: [newJob('before')] })
    fillUp()
    const err = await store.insert({ now: 1000, jobs: [newJob('a'), newJob('b')] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageFullError)
    expect(err).toMatchObject({ code: 'STORAGE_FULL' })
    vi.restoreAllMocks()
    expect((await store.listJobs({}, 1000)).map((j) => j.id)).toEqual(['before'])
  })

  it('does not stop an engine: it reports queue:error and runs the job once there is room', async () => {
    const { store } = exposed()
    const { queue, until } = queueOn(store, {}, cleanup)
    queue.register('t', () => 'done')
    const { id } = await queue.dispatch(job('t', 1))
    const full = fillUp()
    await queue.start()
    const e = await until((e) => e.kind === 'queue:error')
    expect(e).toMatchObject({ error: { name: 'StorageFullError', code: 'STORAGE_FULL' } })
    full.on = false
    await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
  })
})

describe('values that cannot be cloned', () => {
  it('rejects a dispatch with SerializationError and writes nothing', async () => {
    const { store } = exposed()
    const { queue } = queueOn(store, {}, cleanup)
    const err = await queue.dispatchMany([job('t', 1), job('t', { f: () => 1 })]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SerializationError)
    expect(await queue.counts()).toMatchObject({ waiting: 0 })
  })

  it('fails only the job whose result cannot be stored; the others settle', async () => {
    const { store } = exposed()
    const { queue, until } = queueOn(store, { concurrency: 3 }, cleanup)
    queue.register('t', (p) => (p === 'bad' ? { f: () => 1 } : p))
    const jobs = await queue.dispatchMany([job('t', 'a'), job('t', 'bad'), job('t', 'c')])
    await queue.start()
    const [a, bad, c] = jobs.map((j) => j.id)
    await until((e) => e.kind === 'job:failed' && e.jobId === bad)
    await until((e) => e.kind === 'job:succeeded' && e.jobId === a)
    await until((e) => e.kind === 'job:succeeded' && e.jobId === c)
    expect(await queue.getJob(bad ?? '')).toMatchObject({ state: 'failed', error: { name: 'SerializationError' } })
  })
})
