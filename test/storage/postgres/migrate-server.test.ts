import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { StorageError, createQueue, job } from '../../../src/index.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { postgresStore, SCHEMA_TOO_NEW, type PostgresStore } from '../../../src/storage/postgres/index.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { MIGRATIONS } from '../../../src/storage/postgres/migrations.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })

/** The advisory lock `migrate` takes for `schema`, as a pg_locks row would show it. */
const lockKey = (schema: string): string => `ferry migrate "${schema}"`

/**
 * Holds the migration lock of `schema` while `start()` begins `count` migrations, until all of
 * them wait for it: then they all go at once, the closest to a race there can be.
 */
async function allAtOnce<T>(schema: string, count: number, start: () => Promise<T>[]): Promise<T[]> {
  const holder = await pool.connect()
  try {
    await holder.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey(schema)])
    const started = start()
    for (;;) {
      const { rows } = await holder.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
          AND objid = (hashtext($1)::bigint & 4294967295) AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [lockKey(schema)],
      )
      if (rows[0]!.n >= count) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey(schema)])
    return await Promise.all(started)
  } finally {
    holder.release()
  }
}

const versions = async (schema: string): Promise<number[]> =>
  (await pool.query<{ version: number }>(`SELECT version FROM "${schema}".migrations ORDER BY version`)).rows.map((r) => r.version)

describe('migrations on a PostgreSQL server', { timeout: 60_000 }, () => {
  it('two stores on two pools opening one empty schema at once migrate it once', async () => {
    const schema = freshSchema()
    const pools = [new pg.Pool({ connectionString: postgresUrl(), max: 2 }), new pg.Pool({ connectionString: postgresUrl(), max: 2 })]
    const stores: PostgresStore[] = []
    try {
      // A store starts migrating when it is made: made while the lock is held.
      await allAtOnce(schema, 2, () => pools.map((p) => stores[stores.push(postgresStore({ pool: p, schema })) - 1]!.open()))
      expect(await versions(schema)).toEqual(MIGRATIONS.map((_, i) => i + 1))
      // Both work on it: a job one dispatches, the other sees.
      const { id } = await createQueue({ store: stores[0]! }).dispatch(job('t', 1))
      expect(await stores[1]!.getJob(id)).toMatchObject({ id, state: 'waiting' })
    } finally {
      for (const s of stores) await s.close()
      for (const p of pools) await p.end()
    }
  })

  it('runs each migration once when many processes\' worth of connections migrate at once', async () => {
    const schema = freshSchema()
    await pool.query('CREATE TABLE IF NOT EXISTS public.ferry_migrate_runs (schema text, version integer)')
    const counted = MIGRATIONS.map((m, i) => (s: string) => `${m(s)};\nINSERT INTO public.ferry_migrate_runs VALUES ('${s}', ${i + 1})`)
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ connectionString: postgresUrl(), max: 1 }))
    try {
      await allAtOnce(schema, 4, () => pools.map((p) => migrate(pgDriver(p), schema, counted)))
      const { rows } = await pool.query<{ version: number }>('SELECT version FROM public.ferry_migrate_runs WHERE schema = $1 ORDER BY version', [schema])
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1))
    } finally {
      for (const p of pools) await p.end()
    }
  })

  it('two Node processes starting at once on one empty schema migrate it once', async () => {
    const schema = freshSchema()
    const index = fileURLToPath(new URL('../../../src/storage/postgres/index.ts', import.meta.url))
    const code = `
      import pg from 'pg'
      import { postgresStore } from ${JSON.stringify(index)}
      const pool = new pg.Pool({ connectionString: process.env.FERRY_TEST_POSTGRES_URL, max: 2 })
      const store = postgresStore({ pool, schema: ${JSON.stringify(schema)} })
      await store.open()
      await store.close()
      await pool.end()
      console.log('migrated')
    `
    const run = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
          env: { ...process.env, FERRY_TEST_POSTGRES_URL: postgresUrl() },
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        let err = ''
        child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
        child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c))
        child.on('error', reject)
        child.on('exit', (status) => (status === 0 ? resolve(out.trim()) : reject(new Error(`exit ${status}: ${err}`))))
      })
    expect(await allAtOnce(schema, 2, () => [run(), run()])).toEqual(['migrated', 'migrated'])
    expect(await versions(schema)).toEqual(MIGRATIONS.map((_, i) => i + 1))
  })

  it('migrates a schema that another transaction creates at the same moment (liveness creates its table)', async () => {
    const schema = freshSchema()
    const other = await pool.connect()
    try {
      await other.query('BEGIN')
      await other.query(`CREATE SCHEMA "${schema}"`)
      const migrating = migrate(pgDriver(pool), schema)
      // Until the migration waits for the other transaction's schema: then that one commits.
      for (;;) {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'CREATE SCHEMA IF NOT EXISTS%' AND query LIKE $1`,
          [`%${schema}%`],
        )
        if (rows[0]!.n > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await other.query('COMMIT')
      await migrating
    } finally {
      other.release()
    }
    expect(await versions(schema)).toEqual(MIGRATIONS.map((_, i) => i + 1))
  })

  it('refuses a schema of a newer ferry with SCHEMA_TOO_NEW, changing nothing', async () => {
    const schema = freshSchema()
    const store = postgresStore({ pool, schema })
    await store.open()
    await store.close()
    await pool.query(`INSERT INTO "${schema}".migrations (version) VALUES ($1)`, [MIGRATIONS.length + 1])
    const tables = async (): Promise<unknown[]> =>
      (await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])).rows
    const before = await tables()
    const newer = postgresStore({ pool, schema })
    try {
      const error = await newer.open().catch((e: unknown) => e)
      expect(error).toBeInstanceOf(StorageError)
      expect(error).toMatchObject({ code: SCHEMA_TOO_NEW })
      await expect(newer.getJob('x')).rejects.toMatchObject({ code: SCHEMA_TOO_NEW })
    } finally {
      await newer.close()
    }
    expect(await tables()).toEqual(before)
    expect(await versions(schema)).toEqual([...MIGRATIONS.map((_, i) => i + 1), MIGRATIONS.length + 1])
  })
})
