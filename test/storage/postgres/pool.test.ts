/**
 * The store on an application's small pool: whatever `max` it has, the store never holds one of
 * its connections for good, so engines, `{ tx }` dispatches, the application's own queries and
 * `close` all go through.
 */
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

/** Resolves on the `n`th call of the returned handler. */
function counter(n: number): { handler: () => Promise<void>; reached: Promise<void>; count: () => number } {
  let count = 0
  let reach!: () => void
  const reached = new Promise<void>((resolve) => (reach = resolve))
  return {
    handler: () => {
      if (++count === n) reach()
      return Promise.resolve()
    },
    reached,
    count: () => count,
  }
}

async function dispatchInTransaction(pool: pg.Pool, queue: ReturnType<typeof createQueue>, n: number): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await queue.dispatch(job('work', { n }), { tx: client })
    await client.query('COMMIT')
  } finally {
    client.release()
  }
}

/** Connections of `pool`'s settings other than its `max` clients, all checked out meanwhile. */
async function storeConnections(pool: pg.Pool, max: number, spy: pg.Client): Promise<number> {
  const clients = await Promise.all(Array.from({ length: max }, () => pool.connect()))
  try {
    const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid))
    const { rows } = await spy.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND backend_type = 'client backend' AND NOT pid = ANY($1::int[]) AND application_name = $2`,
      [pids, 'ferry_pool_test'],
    )
    return rows[0]!.n
  } finally {
    for (const c of clients) c.release()
  }
}

for (const max of [1, 2]) {
  describe(`a pool of max ${max}`, () => {
    const pool = testPool({ max, application_name: 'ferry_pool_test' })

    it('engines run, { tx } dispatches commit, the application\'s queries go through and close returns', async () => {
      const store = postgresStore({ pool, schema: freshSchema() })
      await store.open()
      const queue = createQueue({ store, concurrency: 2 })
      const ran = counter(8)
      queue.register('work', ran.handler)
      await queue.start()
      await queue.dispatch(job('work', { n: 0 }))
      await dispatchInTransaction(pool, queue, 1)
      await Promise.all([2, 3, 4, 5, 6].map((n) => dispatchInTransaction(pool, queue, n)))
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await queue.dispatch(job('work', { n: 7 }))
      await ran.reached
      expect(ran.count()).toBe(8)
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await queue.close({ timeoutMs: 2000 })
      await store.close()
      expect(pool.totalCount).toBeLessThanOrEqual(max)
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    }, 30_000)

    it('holds no connection of the pool while idle: sessions are one connection of the store\'s own, ended by close', async () => {
      const store = postgresStore({ pool, schema: freshSchema() })
      await store.open()
      const queue = createQueue({ store, concurrency: 2 })
      const ran = counter(2)
      queue.register('work', ran.handler)
      await queue.start()
      await dispatchInTransaction(pool, queue, 1)
      await queue.dispatch(job('work', { n: 2 }))
      await ran.reached
      const spy = new pg.Client({ connectionString: postgresUrl() })
      await spy.connect()
      try {
        // Every client of the pool can be checked out at once by the application; besides them,
        // the store's own connection, made from the pool's settings: one, for notifications and liveness.
        expect(await storeConnections(pool, max, spy)).toBe(1)
        await queue.close({ timeoutMs: 2000 })
        await store.close()
        // The server lists a backend until its process has exited, a moment after the client's end.
        let left = await storeConnections(pool, max, spy)
        for (let i = 0; i < 50 && left > 0; i++) {
          await new Promise((r) => setTimeout(r, 100))
          left = await storeConnections(pool, max, spy)
        }
        expect(left).toBe(0)
      } finally {
        await spy.end()
      }
    }, 30_000)
  })
}
