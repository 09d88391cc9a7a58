import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../../src/core/errors.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { postgresUrl } from '../../helpers/postgres.js'

const pool = new pg.Pool({ connectionString: postgresUrl(), max: 4 })
afterAll(() => pool.end())

let tables = 0
async function table(): Promise<string> {
  const name = `driver_pg_${process.pid}_${++tables}`
  await pool.query(`drop table if exists ${name}`)
  await pool.query(`create table ${name} (n integer)`)
  return name
}

describe('pgDriver', () => {
  it('commits a transaction when its function resolves', async () => {
    const driver = pgDriver(pool)
    const t = await table()
    const answer = await driver.transaction(async (sql) => {
      await sql.query(`insert into ${t} values ($1), ($2)`, [1, 2])
      return (await sql.query<{ n: number }>(`select n from ${t} order by n`)).map((r) => r.n)
    })
    expect(answer).toEqual([1, 2])
    expect(await driver.query(`select n from ${t} order by n`)).toEqual([{ n: 1 }, { n: 2 }])
  })

  it('rolls a transaction back and rethrows when its function throws', async () => {
    const driver = pgDriver(pool)
    const t = await table()
    const failure = new Error('no')
    await expect(
      driver.transaction(async (sql) => {
        await sql.query(`insert into ${t} values (1)`)
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(await driver.query(`select * from ${t}`)).toEqual([])
    expect(pool.idleCount).toBe(pool.totalCount)
  })

  it('a connection lost during a transaction rejects it, without an unhandled error, and later ones run on other connections', async () => {
    const driver = pgDriver(pool)
    let pid = 0
    await expect(
      driver.transaction(async (sql) => {
        pid = (await sql.query<{ pid: number }>('select pg_backend_pid() as pid'))[0]!.pid
        const other = new pg.Client({ connectionString: postgresUrl() })
        await other.connect()
        await other.query('select pg_terminate_backend($1)', [pid])
        await other.end()
        await sql.query('select 1')
      }),
    ).rejects.toThrow()
    for (let i = 0; i < 8; i++) {
      const rows = await driver.transaction((sql) => sql.query<{ pid: number }>('select pg_backend_pid() as pid'))
      expect(rows[0]!.pid).not.toBe(pid)
    }
  })

  it('runs statements in the application\'s transaction and commits or rolls back with it', async () => {
    const driver = pgDriver(pool)
    const t = await table()
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await driver.joined(client).query(`insert into ${t} values (1)`)
      expect(await driver.query(`select * from ${t}`)).toEqual([])
      await client.query('COMMIT')
      await client.query('BEGIN')
      await driver.joined(client).query(`insert into ${t} values (2)`)
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    expect(await driver.query(`select n from ${t}`)).toEqual([{ n: 1 }])
  })

  it('joins a pg.Client of the application as well', async () => {
    const driver = pgDriver(pool)
    const t = await table()
    const client = new pg.Client({ connectionString: postgresUrl() })
    await client.connect()
    try {
      await client.query('BEGIN')
      await driver.joined(client).query(`insert into ${t} values (3)`)
      await client.query('COMMIT')
    } finally {
      await client.end()
    }
    expect(await driver.query(`select n from ${t}`)).toEqual([{ n: 3 }])
  })

  it('refuses a { tx } that is not a client: a pool would run outside the application\'s transaction', () => {
    const driver = pgDriver(pool)
    for (const tx of [pool, {}, null, 'tx', { query: () => undefined }]) {
      expect(() => driver.joined(tx)).toThrow(InvalidArgumentError)
    }
  })

  it('hears notifications on a session until it is released', async () => {
    const driver = pgDriver(pool)
    const session = await driver.session()
    const heard: string[] = []
    await session.listen('ferry_test_Channel', (payload) => heard.push(payload))
    await driver.query("select pg_notify('ferry_test_Channel', 'one')")
    await expect.poll(() => heard).toEqual(['one'])
    await session.release()
    await driver.query("select pg_notify('ferry_test_Channel', 'two')")
    await driver.query('select pg_sleep(0.05)')
    expect(heard).toEqual(['one'])
  })

  it('sessions share one connection of the driver\'s own, outside the pool; the last release closes it and gives up its advisory locks', async () => {
    const driver = pgDriver(pool)
    const pooled = pool.totalCount
    const first = await driver.session()
    const second = await driver.session()
    const pid = async (s: typeof first): Promise<number> => (await s.query<{ pid: number }>('select pg_backend_pid() as pid'))[0]!.pid
    const shared = await pid(first)
    expect(await pid(second)).toBe(shared)
    expect(pool.totalCount).toBe(pooled)
    await first.query('select pg_advisory_lock(4242)')
    const other = await pool.connect()
    try {
      const got = async (): Promise<boolean> => (await other.query<{ got: boolean }>('select pg_try_advisory_lock(4242) as got')).rows[0]!.got
      expect(await got()).toBe(false)
      await first.release()
      // The connection stays while a session is held: released locks are given back by who took them.
      expect(await got()).toBe(false)
      await second.release()
      await expect.poll(got).toBe(true)
      await other.query('select pg_advisory_unlock(4242)')
    } finally {
      other.release()
    }
    // The next session opens a new connection.
    const third = await driver.session()
    expect(await pid(third)).not.toBe(shared)
    await driver.close()
  })

  it('tells onEnd when the session\'s connection is lost, and nothing after release', async () => {
    const driver = pgDriver(pool)
    const session = await driver.session()
    const ends: unknown[] = []
    session.onEnd((error) => ends.push(error ?? 'ended'))
    const [{ pid }] = (await session.query<{ pid: number }>('select pg_backend_pid() as pid')) as [{ pid: number }]
    await driver.query('select pg_terminate_backend($1)', [pid])
    await expect.poll(() => ends.length).toBe(1)
    await session.release()

    const kept = await driver.session()
    const keptEnds: unknown[] = []
    kept.onEnd((error) => keptEnds.push(error))
    await kept.release()
    await driver.query('select 1')
    expect(keptEnds).toEqual([])
  })

  it('close releases the sessions it opened and leaves the pool open', async () => {
    const driver = pgDriver(pool)
    const session = await driver.session()
    await session.query('select pg_advisory_lock(4343)')
    await driver.close()
    expect(await pool.query('select pg_try_advisory_lock(4343) as got')).toMatchObject({ rows: [{ got: true }] })
    await pool.query('select pg_advisory_unlock_all()')
  })
})
