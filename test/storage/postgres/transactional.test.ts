import { PGlite, type Transaction } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'
import { transactionalScenarios, type AppTx } from './transactional-scenarios.js'

const pool = testPool({ max: 10 })

transactionalScenarios('node-postgres (a client inside BEGIN)', () => {
  const schema = freshSchema()
  const orders = `"${schema}_app".orders`
  return {
    async store() {
      await pool.query(`CREATE SCHEMA "${schema}_app"; CREATE TABLE ${orders} (id text PRIMARY KEY)`)
      const store = postgresStore({ pool, schema })
      await store.open()
      return store
    },
    async begin(): Promise<AppTx> {
      const client = await pool.connect()
      await client.query('BEGIN')
      const end = async (sql: string): Promise<void> => {
        try {
          await client.query(sql)
        } finally {
          client.release()
        }
      }
      return {
        tx: client,
        query: async (text, params) => (await client.query(text.replace('orders', orders), params)).rows,
        commit: () => end('COMMIT'),
        rollback: () => end('ROLLBACK'),
      }
    },
    query: async (text, params) => (await pool.query(text.replace('orders', orders), params)).rows,
    notTransactions: [pool, {}, 'client', null],
  }
})

let db: PGlite
beforeAll(async () => {
  db = await PGlite.create()
}, 60_000)
afterAll(() => db.close())
let schemas = 0

transactionalScenarios('PGlite (its transaction object)', () => {
  const schema = `tx_${++schemas}`
  const orders = `"${schema}_app".orders`
  return {
    async store() {
      await db.exec(`CREATE SCHEMA "${schema}_app"; CREATE TABLE ${orders} (id text PRIMARY KEY)`)
      const store = postgresStore({ pool: db, schema })
      await store.open()
      return store
    },
    async begin(): Promise<AppTx> {
      // db.transaction runs a callback: it is held open until the test commits or rolls back.
      let started!: (tx: Transaction) => void
      let end!: (how: 'commit' | 'rollback') => void
      const ending = new Promise<'commit' | 'rollback'>((resolve) => (end = resolve))
      let done!: Promise<void>
      const tx = await new Promise<Transaction>((resolve, reject) => {
        started = resolve
        done = db.transaction(async (t) => {
          started(t)
          if ((await ending) === 'rollback') await t.rollback()
        })
        done.catch(reject)
      })
      return {
        tx,
        query: async (text, params) => (await tx.query(text.replace('orders', orders), params)).rows,
        commit: async () => {
          end('commit')
          await done
        },
        rollback: async () => {
          end('rollback')
          await done
        },
      }
    },
    query: async (text, params) => (await db.query(text.replace('orders', orders), params)).rows,
    notTransactions: [db, {}, 'tx', null],
  }
})

describe('transactional enqueue on PGlite without open()', () => {
  it('dispatches in a transaction begun right after the store was made: the store migrated first', async () => {
    const store = postgresStore({ pool: db, schema: `tx_${++schemas}` })
    const queue = createQueue({ store })
    try {
      const { id } = await db.transaction(async (tx) => queue.dispatch(job('t', 1), { tx }))
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting' })
    } finally {
      await queue.close()
    }
  }, 20_000)
})
