/**
 * Liveness on a server never changes a schema it may not, and never waits on a lock another
 * session of the database holds.
 */
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../../src/core/errors.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { postgresStore, SCHEMA_TOO_NEW } from '../../../src/storage/postgres/index.js'
import { postgresLiveness } from '../../../src/storage/postgres/liveness.js'
import { MIGRATIONS } from '../../../src/storage/postgres/migrations.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })

async function tables(schema: string): Promise<string[]> {
  const { rows } = await pool.query<{ name: string }>('SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema])
  return rows.map((r) => r.name)
}

describe('postgres liveness', () => {
  it('changes nothing in a schema of a newer ferry: hold and alive reject with SCHEMA_TOO_NEW', async () => {
    const schema = freshSchema()
    await pool.query(
      `CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
       INSERT INTO "${schema}".migrations (version) SELECT generate_series(1, ${MIGRATIONS.length + 1})`,
    )
    const store = postgresStore({ pool, schema })
    try {
      await expect(store.open()).rejects.toMatchObject({ code: SCHEMA_TOO_NEW })
      const held = store.liveness!.hold('engine-a')
      await expect(held).rejects.toBeInstanceOf(StorageError)
      await expect(held).rejects.toMatchObject({ code: SCHEMA_TOO_NEW })
      await expect(store.liveness!.alive()).rejects.toMatchObject({ code: SCHEMA_TOO_NEW })
      expect(await tables(schema)).toEqual(['migrations'])
    } finally {
      await store.close()
    }
  })

  it('holds an owner though a session of the application holds advisory locks of its key space', async () => {
    const schema = freshSchema()
    const driver = pgDriver(pool)
    const first = postgresLiveness({ driver, schema })
    const other = await pool.connect()
    try {
      ;(await first.hold('engine-first'))()
      const { rows } = await other.query<{ ns: number; next: number }>(
        `SELECT ($1::regclass::oid::bigint)::int AS ns, (SELECT coalesce(max(key), 0) FROM ${`"${schema}".engine_locks`})::int + 1 AS next`,
        [`"${schema}".engine_locks`],
      )
      const { ns, next } = rows[0]!
      // The next keys the table hands out, taken by a session that is not ferry's.
      await other.query('SELECT pg_advisory_lock($1, k) FROM generate_series($2::int, $2::int + 4) AS k', [ns | 0, next])
      const second = postgresLiveness({ driver, schema })
      try {
        const release = await second.hold('engine-second')
        expect(await second.alive()).toEqual(['engine-second'])
        release()
      } finally {
        await second.close()
      }
    } finally {
      await other.query('SELECT pg_advisory_unlock_all()')
      other.release()
      await first.close()
      await driver.close()
    }
  }, 20_000)
})
