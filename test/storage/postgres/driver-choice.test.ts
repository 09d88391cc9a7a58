import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError, QueueClosedError } from '../../../src/core/errors.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })
let db: PGlite
beforeAll(async () => {
  db = await PGlite.create()
}, 60_000)
afterAll(() => db.close())

describe('postgresStore options', () => {
  it('refuses a pool that is neither a pg.Pool nor a PGlite instance, with InvalidArgumentError', () => {
    for (const given of [undefined, null, {}, 'postgres://localhost', { query: () => undefined }, { connect: () => undefined }]) {
      expect(() => postgresStore({ pool: given as never })).toThrow(InvalidArgumentError)
    }
    expect(() => postgresStore(undefined as never)).toThrow(InvalidArgumentError)
  })

  it('refuses a schema that is not a lowercase identifier, with InvalidArgumentError', async () => {
    for (const schema of ['', 'Ferry', '1jobs', 'my-jobs', 'a"b', 'x'.repeat(64), 7]) {
      expect(() => postgresStore({ pool, schema: schema as string })).toThrow(InvalidArgumentError)
    }
    await postgresStore({ pool, schema: `_${'x'.repeat(62)}` }).close()
  })

  it('works on a pg.Pool and on a PGlite instance, and closing the store leaves either open', async () => {
    for (const given of [pool, db]) {
      const store = postgresStore({ pool: given, schema: freshSchema() })
      await store.open()
      expect(await store.counts(0)).toMatchObject({ waiting: 0 })
      await store.close()
      await expect(store.open()).rejects.toBeInstanceOf(QueueClosedError)
    }
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('uses the schema "ferry" by default', async () => {
    const store = postgresStore({ pool: db })
    await store.open()
    await store.close()
    expect((await db.query("SELECT 1 AS found FROM information_schema.tables WHERE table_schema = 'ferry' AND table_name = 'jobs'")).rows).toEqual([{ found: 1 }])
  })
})
