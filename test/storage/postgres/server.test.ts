import { describe, expect, it } from 'vitest'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

describe('the test PostgreSQL server', () => {
  const pool = testPool()

  it('runs a query on 127.0.0.1', async () => {
    expect(new URL(postgresUrl()).hostname).toBe('127.0.0.1')
    const { rows } = await pool.query<{ sum: number; fsync: string }>("SELECT 1 + 1 AS sum, current_setting('fsync') AS fsync")
    expect(rows).toEqual([{ sum: 2, fsync: 'on' }])
  })

  it('holds connections enough for test files in parallel', async () => {
    const { rows } = await pool.query<{ max: string }>("SELECT current_setting('max_connections') AS max")
    expect(Number(rows[0]!.max)).toBeGreaterThanOrEqual(100)
  })

  it('gives each call a schema name of its own that Postgres accepts', async () => {
    const [a, b] = [freshSchema(), freshSchema()]
    expect(a).not.toBe(b)
    expect(a).toMatch(/^[a-z_][a-z0-9_]{0,62}$/)
    await pool.query(`CREATE SCHEMA "${a}"`)
    await pool.query(`CREATE TABLE "${a}".t (n integer)`)
    await pool.query(`INSERT INTO "${a}".t VALUES (7)`)
    const { rows } = await pool.query<{ n: number }>(`SELECT n FROM "${a}".t`)
    expect(rows).toEqual([{ n: 7 }])
  })
})
