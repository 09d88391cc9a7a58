import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { InvalidArgumentError, SerializationError } from '../../../src/core/errors.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()

type Jobs = { 'order:confirm': { id: string }; 'order:ship': { id: string } }

async function setup(path?: string): Promise<{ store: SqliteStore; queue: ReturnType<typeof createQueue<Jobs>> }> {
  const store = sqliteStore(path === undefined ? {} : { path })
  await store.transaction((tx) => tx.exec('CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, total INTEGER NOT NULL)'))
  return { store, queue: createQueue<Jobs>({ store }) }
}

const orders = (store: SqliteStore): Promise<{ id: string; total: number }[]> =>
  store.transaction((tx) => tx.query<{ id: string; total: number }>('SELECT id, total FROM orders ORDER BY id'))

describe('transactional enqueue on the SQLite store', () => {
  it('commits the application\'s rows and the dispatched job together', async () => {
    const path = join(dir(), 'app.db')
    const { store, queue } = await setup(path)
    const id = await store.transaction(async (tx) => {
      expect(tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o1', 42])).toBe(1)
      const { id } = await queue.dispatch(job('order:confirm', { id: 'o1' }), { tx })
      // Reads inside the transaction see its writes, the application's and ferry's.
      expect(tx.query('SELECT COUNT(*) AS n FROM ferry_jobs WHERE id = ?', [id])).toEqual([{ n: 1 }])
      return id
    })
    await queue.close()
    // Reopened: both are durable.
    const again = await setup(path)
    expect(await orders(again.store)).toEqual([{ id: 'o1', total: 42 }])
    expect(await again.queue.getJob(id)).toMatchObject({ type: 'order:confirm', payload: { id: 'o1' }, state: 'waiting' })
    await again.queue.close()
  })

  it('rolls back both when the callback throws', async () => {
    const { store, queue } = await setup()
    let jobId = ''
    const err = await store
      .transaction(async (tx) => {
        tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o2', 7])
        jobId = (await queue.dispatch(job('order:confirm', { id: 'o2' }), { tx })).id
        await queue.chain(job('order:confirm', { id: 'o2' }), job('order:ship', { id: 'o2' })).dispatch({ tx })
        throw new Error('payment declined')
      })
      .then(() => undefined, (e: unknown) => e)
    expect((err as Error).message).toBe('payment declined')
    expect(await orders(store)).toEqual([])
    expect(await queue.getJob(jobId)).toBeUndefined()
    expect(await queue.counts()).toMatchObject({ waiting: 0, blocked: 0 })
    await queue.close()
  })

  it('keeps the application\'s work when one dispatch in it fails and the application carries on', async () => {
    const { store, queue } = await setup()
    const err = await store.transaction(async (tx) => {
      tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o3', 1])
      const bad = job('order:confirm', { id: 'o3', at: new Date() } as unknown as { id: string })
      const failed = await queue.dispatchMany([job('order:ship', { id: 'o3' }), bad], { tx }).then(() => undefined, (e: unknown) => e)
      tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o4', 2])
      return failed
    })
    expect(err).toBeInstanceOf(SerializationError)
    expect(await orders(store)).toEqual([{ id: 'o3', total: 1 }, { id: 'o4', total: 2 }])
    expect((await queue.listJobs()).length).toBe(0)
    await queue.close()
  })

  it('runs a job dispatched in a transaction once it commits', async () => {
    const { store, queue } = await setup()
    const ran: string[] = []
    queue.register('order:confirm', async ({ id }) => void ran.push(id))
    await queue.start()
    const { id } = await store.transaction(async (tx) => {
      tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o5', 5])
      return queue.dispatch(job('order:confirm', { id: 'o5' }), { tx })
    })
    await expect.poll(async () => (await queue.getJob(id))?.state).toBe('succeeded')
    expect(ran).toEqual(['o5'])
    await queue.close()
  })

  it('rejects a { tx } that is not a live transaction of this store', async () => {
    const { store, queue } = await setup()
    const other = sqliteStore()
    let stale: unknown
    await store.transaction((tx) => void (stale = tx))
    const foreign = await other.transaction((tx) => tx)
    for (const tx of [stale, foreign, { exec() {} }]) {
      await expect(queue.dispatch(job('order:confirm', { id: 'x' }), { tx })).rejects.toBeInstanceOf(InvalidArgumentError)
    }
    expect(() => (stale as { exec(sql: string): void }).exec('SELECT 1')).toThrow(InvalidArgumentError)
    await other.close()
    await queue.close()
  })

  it('reports the application\'s SQL errors as StorageError and rolls back', async () => {
    const { store, queue } = await setup()
    const err = await store
      .transaction((tx) => {
        tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o6', 1])
        tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', ['o6', 2])
      })
      .then(() => undefined, (e: unknown) => e)
    expect(err).toMatchObject({ name: 'StorageError', code: 'STORAGE' })
    expect((err as Error).message).toMatch(/UNIQUE constraint failed/)
    expect(await orders(store)).toEqual([])
    await queue.close()
  })
})

describe('dispatches a transaction callback does not await', () => {
  it('are part of the transaction: committed with it, or rolled back with it', async () => {
    const { store, queue } = await setup()
    let kept: Promise<unknown> | undefined
    await store.transaction((tx) => {
      kept = queue.dispatch(job('order:confirm', { id: 'k' }).withId('kept'), { tx })
    })
    await kept
    let dropped: Promise<unknown> | undefined
    await store
      .transaction((tx) => {
        dropped = queue.dispatch(job('order:confirm', { id: 'd' }).withId('dropped'), { tx })
        throw new Error('changed my mind')
      })
      .catch(() => undefined)
    await dropped
    expect((await queue.listJobs()).map((j) => j.id)).toEqual(['kept'])
    await expect(queue.dispatch(job('order:confirm', { id: 'late' }), { tx: await store.transaction((tx) => tx) })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    )
    await queue.close()
  })
})
