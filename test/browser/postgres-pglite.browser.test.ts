/**
 * The Postgres store on PGlite in a page of real Chromium: the store an application that already
 * runs PGlite in the browser would use. The engine runs jobs, a chain and a batch on it, and they
 * are found again by a second store on the same PGlite instance.
 */
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../src/index.js'
import { postgresStore } from '../../src/storage/postgres/index.js'

const dbs: PGlite[] = []
afterAll(async () => {
  for (const db of dbs) await db.close()
})

describe('postgresStore on PGlite in Chromium', () => {
  it('runs jobs, a chain and a batch, each once, and another store on the instance finds them', async () => {
    const db = new PGlite()
    dbs.push(db)
    const store = postgresStore({ pool: db, schema: 'page' })
    await store.open()
    type Jobs = { add: { n: number } }
    const queue = createQueue<Jobs>({ store, concurrency: 4 })
    const ran: number[] = []
    queue.register('add', async ({ n }) => {
      ran.push(n)
      return n * 2
    })
    await queue.start()
    const single = await queue.dispatch(job('add', { n: 1 }))
    const chainId = await queue.chain(job('add', { n: 2 }), job('add', { n: 3 })).dispatch()
    const batchId = await queue.batch(job('add', { n: 4 }), job('add', { n: 5 })).dispatch()
    await queue.drain()
    expect(ran.sort()).toEqual([1, 2, 3, 4, 5])
    await queue.close()

    const again = postgresStore({ pool: db, schema: 'page' })
    expect(await again.getJob(single.id)).toMatchObject({ state: 'succeeded', result: 2 })
    expect(await again.getChain(chainId)).toMatchObject({ state: 'succeeded' })
    expect(await again.getBatch(batchId)).toMatchObject({ state: 'succeeded' })
    expect(await again.counts(Date.now())).toMatchObject({ succeeded: 5, waiting: 0, active: 0, failed: 0 })
    await again.close()
  }, 60_000)
})
