/**
 * A schema whose `migrations` table is not ferry's (an application's own, in a schema it
 * shares) is refused, and nothing in it changes.
 */
import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/core/errors.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { SCHEMA_NOT_FERRY } from '../../../src/storage/postgres/errors.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })
const db = new PGlite()
beforeAll(() => db.waitReady, 60_000)
afterAll(() => db.close())

async function contents(driver: Driver, schema: string): Promise<unknown> {
  const tables = await driver.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])
  const rows = await driver.query(`SELECT * FROM "${schema}".migrations ORDER BY 1`)
  return { tables: tables.map((t) => t.name), rows }
}

for (const [name, driverOf] of [
  ['a server', () => pgDriver(pool)],
  ['PGlite', () => pgliteDriver(db)],
] as const) {
  describe(`migrate on ${name}`, () => {
    it('refuses a schema whose migrations table is an application\'s, with SCHEMA_NOT_FERRY, changing nothing', async () => {
      const driver = driverOf()
      const schema = freshSchema()
      await driver.query(`CREATE SCHEMA "${schema}"`)
      await driver.query(`CREATE TABLE "${schema}".migrations (version integer); INSERT INTO "${schema}".migrations VALUES (1), (2)`)
      const before = await contents(driver, schema)
      const migrating = migrate(driver, schema)
      await expect(migrating).rejects.toBeInstanceOf(StorageError)
      await expect(migrating).rejects.toMatchObject({ code: SCHEMA_NOT_FERRY })
      expect(await contents(driver, schema)).toEqual(before)
    })

    it('refuses one with other columns, even with the name and type of ferry\'s version', async () => {
      const driver = driverOf()
      const schema = freshSchema()
      await driver.query(`CREATE SCHEMA "${schema}"`)
      await driver.query(`CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, name text NOT NULL, run_on timestamptz)`)
      await expect(migrate(driver, schema)).rejects.toMatchObject({ code: SCHEMA_NOT_FERRY })
    })
  })
}

describe('postgresStore on a schema of an application\'s own migrations', () => {
  it('open() rejects with SCHEMA_NOT_FERRY and the schema keeps what it had', async () => {
    const schema = freshSchema()
    await pool.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".migrations (version integer); INSERT INTO "${schema}".migrations VALUES (7)`)
    const store = postgresStore({ pool, schema })
    try {
      await expect(store.open()).rejects.toMatchObject({ code: SCHEMA_NOT_FERRY })
      await expect(store.liveness!.alive()).rejects.toMatchObject({ code: SCHEMA_NOT_FERRY })
      expect(await contents(pgDriver(pool), schema)).toEqual({ tables: ['migrations'], rows: [{ version: 7 }] })
    } finally {
      await store.close()
    }
  })
})
