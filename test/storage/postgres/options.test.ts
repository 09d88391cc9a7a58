/**
 * What `postgresStore` refuses when it is made, and the application transactions a `{ tx }`
 * write refuses: those of another database.
 */
import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueue, InvalidArgumentError, job } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })

describe('postgresStore options', () => {
  it.each(['pg_ferry', 'pg_catalog', 'pg_toast', 'information_schema'])('refuses the schema name %s, which Postgres reserves', (schema) => {
    expect(() => postgresStore({ pool, schema })).toThrow(InvalidArgumentError)
  })

  it.each(['Ferry', '1ferry', 'ferry-jobs', '', 'a'.repeat(64)])('refuses the schema name %j, not a lowercase identifier', (schema) => {
    expect(() => postgresStore({ pool, schema })).toThrow(InvalidArgumentError)
  })

  it('takes a lowercase identifier that only begins like a reserved one', async () => {
    const store = postgresStore({ pool, schema: `pgx_${freshSchema()}`.slice(0, 63) })
    await store.open()
    await store.close()
  })
})

describe('{ tx } of another database', () => {
  let a: PGlite
  let b: PGlite
  beforeAll(async () => {
    ;[a, b] = await Promise.all([PGlite.create(), PGlite.create()])
  }, 60_000)
  afterAll(async () => {
    await Promise.all([a.close(), b.close()])
  })

  it('refuses the transaction of another PGlite instance with InvalidArgumentError, and writes nothing there', async () => {
    const store = postgresStore({ pool: a })
    const other = postgresStore({ pool: b })
    await Promise.all([store.open(), other.open()])
    const queue = createQueue({ store })
    try {
      const told: string[] = []
      queue.events.subscribe((e) => told.push(e.kind))
      await expect(b.transaction((tx) => queue.dispatch(job('t', 1), { tx }))).rejects.toBeInstanceOf(InvalidArgumentError)
      expect((await b.query<{ n: number }>('SELECT count(*)::int AS n FROM ferry.jobs')).rows).toEqual([{ n: 0 }])
      expect(told.filter((kind) => kind.startsWith('job:'))).toEqual([])
      // Its own still goes.
      const { id } = await a.transaction((tx) => queue.dispatch(job('t', 2), { tx }))
      expect(await queue.getJob(id)).toMatchObject({ state: 'waiting' })
    } finally {
      await queue.close()
      await other.close()
    }
  }, 30_000)

  it('refuses a node-postgres client connected to another database than the pool\'s', async () => {
    const database = `ferry_other_${process.pid}`
    await pool.query(`DROP DATABASE IF EXISTS ${database}`)
    await pool.query(`CREATE DATABASE ${database}`)
    const url = new URL(postgresUrl())
    url.pathname = `/${database}`
    const client = new pg.Client({ connectionString: url.toString() })
    const store = postgresStore({ pool, schema: freshSchema() })
    const queue = createQueue({ store })
    try {
      await client.connect()
      await client.query('BEGIN')
      await expect(queue.dispatch(job('t', 1), { tx: client })).rejects.toBeInstanceOf(InvalidArgumentError)
      await client.query('ROLLBACK')
    } finally {
      await client.end()
      await queue.close()
      await pool.query(`DROP DATABASE IF EXISTS ${database}`)
    }
  }, 30_000)
})
