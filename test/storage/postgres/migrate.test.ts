import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/core/errors.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import { SCHEMA_TOO_NEW } from '../../../src/storage/postgres/errors.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { MIGRATIONS } from '../../../src/storage/postgres/migrations.js'

const db = new PGlite()
// PGlite compiles its WebAssembly on start: seconds on a busy machine.
beforeAll(() => db.waitReady, 60_000)
afterAll(() => db.close())

const driver = pgliteDriver(db)
let schemas = 0
const fresh = (): string => `m_${++schemas}`

const tables = async (schema: string): Promise<string[]> =>
  (await driver.query<{ name: string }>('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).map(
    (r) => r.name,
  )

describe('migrate', () => {
  it('creates the schema and records each migration by number in <schema>.migrations', async () => {
    const schema = fresh()
    await migrate(driver, schema)
    const rows = await driver.query<{ version: number }>(`SELECT version FROM "${schema}".migrations ORDER BY version`)
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    expect(await tables(schema)).toEqual(expect.arrayContaining(['migrations', 'jobs']))
  })

  it('runs only the migrations a schema has not had', async () => {
    const schema = fresh()
    const first = [(s: string) => `CREATE TABLE "${s}".a (n integer)`]
    await migrate(driver, schema, first)
    await driver.query(`INSERT INTO "${schema}".a VALUES (1)`)
    const second = [...first, (s: string) => `CREATE TABLE "${s}".b (n integer); INSERT INTO "${s}".b SELECT n FROM "${s}".a`]
    await migrate(driver, schema, second)
    await migrate(driver, schema, second)
    expect(await driver.query(`SELECT n FROM "${schema}".b`)).toEqual([{ n: 1 }])
    expect(await driver.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)).toEqual([{ version: 1 }, { version: 2 }])
  })

  it('leaves nothing behind when a migration fails', async () => {
    const schema = fresh()
    await expect(migrate(driver, schema, [(s) => `CREATE TABLE "${s}".a (n integer)`, () => 'SELECT no_such_function()'])).rejects.toThrow()
    expect(await driver.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema])).toEqual([])
  })

  it('refuses a schema of a newer ferry with SCHEMA_TOO_NEW and changes nothing', async () => {
    const schema = fresh()
    const newer = [(s: string) => `CREATE TABLE "${s}".a (n integer)`, (s: string) => `CREATE TABLE "${s}".b (n integer)`]
    await migrate(driver, schema, newer)
    const before = await tables(schema)
    const error = await migrate(driver, schema, newer.slice(0, 1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect(error).toMatchObject({ code: SCHEMA_TOO_NEW })
    expect((error as Error).message).toContain(schema)
    expect(await tables(schema)).toEqual(before)
    expect(await driver.query(`SELECT version FROM "${schema}".migrations ORDER BY version`)).toEqual([{ version: 1 }, { version: 2 }])
  })
})
