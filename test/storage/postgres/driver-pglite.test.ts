import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../../src/core/errors.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'

const db = new PGlite()
// PGlite compiles its WebAssembly on start: seconds on a busy machine.
beforeAll(() => db.waitReady, 60_000)
afterAll(() => db.close())

describe('pgliteDriver', () => {
  it('commits a transaction when its function resolves', async () => {
    const driver = pgliteDriver(db)
    await driver.query('create table committed (n integer)')
    const answer = await driver.transaction(async (sql) => {
      await sql.query('insert into committed values ($1), ($2)', [1, 2])
      return (await sql.query<{ n: number }>('select n from committed order by n')).map((r) => r.n)
    })
    expect(answer).toEqual([1, 2])
    expect(await driver.query('select n from committed order by n')).toEqual([{ n: 1 }, { n: 2 }])
  })

  it('rolls a transaction back and rethrows when its function throws', async () => {
    const driver = pgliteDriver(db)
    await driver.query('create table rolled (n integer)')
    const failure = new Error('no')
    await expect(
      driver.transaction(async (sql) => {
        await sql.query('insert into rolled values (1)')
        throw failure
      }),
    ).rejects.toBe(failure)
    expect(await driver.query('select * from rolled')).toEqual([])
  })

  it('runs statements in the application\'s transaction and commits or rolls back with it', async () => {
    const driver = pgliteDriver(db)
    await driver.query('create table joined (n integer)')
    await db.transaction(async (tx) => {
      await driver.joined(tx).query('insert into joined values (1)')
    })
    await db.transaction(async (tx) => {
      await driver.joined(tx).query('insert into joined values (2)')
      await tx.rollback()
    })
    expect(await driver.query('select n from joined')).toEqual([{ n: 1 }])
  })

  it('refuses a { tx } that is not a PGlite transaction', () => {
    const driver = pgliteDriver(db)
    for (const tx of [db, {}, null, 'tx', { query: () => undefined }]) {
      expect(() => driver.joined(tx)).toThrow(InvalidArgumentError)
    }
  })

  it('hears notifications on a session until it is released', async () => {
    const driver = pgliteDriver(db)
    const session = await driver.session()
    const heard: string[] = []
    await session.listen('ferry_test_channel', (payload) => heard.push(payload))
    await driver.query("select pg_notify('ferry_test_channel', 'one')")
    await expect.poll(() => heard).toEqual(['one'])
    await session.release()
    await driver.query("select pg_notify('ferry_test_channel', 'two')")
    await driver.query('select 1')
    expect(heard).toEqual(['one'])
  })

  it('close releases the sessions it opened and leaves the instance open', async () => {
    const driver = pgliteDriver(db)
    const session = await driver.session()
    const heard: string[] = []
    await session.listen('ferry_closed_channel', (payload) => heard.push(payload))
    await driver.close()
    await db.query("select pg_notify('ferry_closed_channel', 'after')")
    expect(await db.query('select 1 as one')).toMatchObject({ rows: [{ one: 1 }] })
    expect(heard).toEqual([])
  })
})
