/**
 * Transactional enqueue on the Postgres store: a job dispatched with `{ tx }` in the
 * application's own transaction commits, or not, with the application's work, and its events
 * are told only once it committed. Run on node-postgres (a client inside `BEGIN`) and on
 * PGlite (its transaction object).
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError, SerializationError, createQueue, job, type Queue, type QueueEvent, type Store } from '../../../src/index.js'
import { queueOn } from '../idb/engine-scenarios.js'

/** The application's transaction, however its driver spells it. */
export interface AppTx {
  /** What the application passes as `{ tx }`. */
  tx: unknown
  query(text: string, params?: unknown[]): Promise<unknown[]>
  commit(): Promise<void>
  rollback(): Promise<void>
}

export interface App {
  /** A new store in a schema of its own, and the application's table `orders` beside it. */
  store(): Promise<Store>
  begin(): Promise<AppTx>
  query(text: string, params?: unknown[]): Promise<unknown[]>
  /** Things that are not a transaction to join, with this driver. */
  notTransactions: unknown[]
}

export function transactionalScenarios(label: string, app: () => App): void {
  describe(`transactional enqueue on ${label}`, { timeout: 30_000 }, () => {
    const cleanup: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c()
    })
    const queueFor = (store: Store): { queue: Queue; events: QueueEvent[] } => {
      const queue = createQueue({ store })
      const events: QueueEvent[] = []
      queue.events.subscribe((e) => events.push(e))
      cleanup.push(() => queue.close({ timeoutMs: 100 }))
      return { queue, events }
    }
    const ids = (events: QueueEvent[]): unknown[] => events.map((e) => ('jobId' in e ? e.jobId : e.kind))

    it('commits the application\'s row and the job together, and tells the job\'s events only after COMMIT', async () => {
      const a = app()
      const { queue, events } = queueFor(await a.store())
      const t = await a.begin()
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o1'])
      const { id } = await queue.dispatch(job('order:confirm', { order: 'o1' }), { tx: t.tx })
      expect(events).toEqual([])
      await t.commit()
      await vi.waitFor(() => expect(ids(events)).toEqual([id]))
      expect(events[0]).toMatchObject({ kind: 'job:dispatched', jobId: id })
      expect(await a.query('SELECT id FROM orders')).toEqual([{ id: 'o1' }])
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', payload: { order: 'o1' } })
    })

    it('writes neither and tells nothing when the application rolls back', async () => {
      const a = app()
      const { queue, events } = queueFor(await a.store())
      const t = await a.begin()
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o2'])
      const { id } = await queue.dispatch(job('order:confirm', { order: 'o2' }), { tx: t.tx })
      await t.rollback()
      expect(await a.query('SELECT id FROM orders')).toEqual([])
      expect(await queue.getJob(id)).toBeUndefined()
      // Events come in commit order: once a later dispatch is told, one of the rolled-back
      // dispatch would have come before it.
      const { id: after } = await queue.dispatch(job('order:confirm', { order: 'o3' }))
      await vi.waitFor(() => expect(ids(events)).toContain(after))
      expect(ids(events)).toEqual([after])
      expect(await queue.counts()).toMatchObject({ waiting: 1 })
    })

    it('runs the job once the application commits, on an engine already started', async () => {
      const a = app()
      const { queue, until } = queueOn(await a.store(), {}, cleanup)
      const ran: string[] = []
      queue.register('order:confirm', (p) => {
        ran.push((p as { order: string }).order)
        return 'confirmed'
      })
      await queue.start()
      const t = await a.begin()
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o4'])
      const { id } = await queue.dispatch(job('order:confirm', { order: 'o4' }), { tx: t.tx })
      await t.commit()
      await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(ran).toEqual(['o4'])
      expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', result: 'confirmed' })
    })

    it('runs nothing of a dispatch the application rolled back, on an engine already started', async () => {
      const a = app()
      const { queue, until } = queueOn(await a.store(), {}, cleanup)
      const ran: string[] = []
      queue.register('order:confirm', (p) => {
        ran.push((p as { order: string }).order)
      })
      await queue.start()
      const t = await a.begin()
      await queue.dispatch(job('order:confirm', { order: 'o5' }), { tx: t.tx })
      await t.rollback()
      const { id } = await queue.dispatch(job('order:confirm', { order: 'o6' }))
      await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(ran).toEqual(['o6'])
      expect(await queue.listJobs()).toHaveLength(1)
    })

    it('dispatches a chain and a batch in the application\'s transaction, committed with it', async () => {
      const a = app()
      const { queue } = queueFor(await a.store())
      const t = await a.begin()
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o7'])
      const chainId = await queue.chain(job('a', 1), job('b', 2)).dispatch({ tx: t.tx })
      const batchId = await queue.batch(job('c', 1), job('c', 2)).dispatch({ tx: t.tx })
      await t.commit()
      expect((await queue.findChain(chainId)).steps.map((s) => s.state)).toEqual(['waiting', 'blocked'])
      expect(await queue.findBatch(batchId)).toMatchObject({ total: 2, pending: 2 })

      const r = await a.begin()
      const gone = await queue.chain(job('a', 1), job('b', 2)).dispatch({ tx: r.tx })
      const goneBatch = await queue.batch(job('c', 1)).dispatch({ tx: r.tx })
      await r.rollback()
      await expect(queue.findChain(gone)).rejects.toMatchObject({ code: 'NOT_FOUND' })
      await expect(queue.findBatch(goneBatch)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    })

    it('leaves the application\'s transaction usable when ferry\'s part fails, writing none of it', async () => {
      const a = app()
      const { queue } = queueFor(await a.store())
      const t = await a.begin()
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o8'])
      const err = await queue.dispatchMany([job('ok', 1), job('bad', { fn: () => 1 })], { tx: t.tx }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SerializationError)
      await t.query('INSERT INTO orders (id) VALUES ($1)', ['o9'])
      await t.commit()
      expect(await a.query('SELECT id FROM orders ORDER BY id')).toEqual([{ id: 'o8' }, { id: 'o9' }])
      expect(await queue.listJobs()).toEqual([])
    })

    it('refuses what is not a transaction to join with InvalidArgumentError, writing nothing', async () => {
      const a = app()
      const { queue } = queueFor(await a.store())
      for (const tx of a.notTransactions) {
        await expect(queue.dispatch(job('t', 1), { tx })).rejects.toBeInstanceOf(InvalidArgumentError)
      }
      expect(await queue.listJobs()).toEqual([])
    })
  })
}
