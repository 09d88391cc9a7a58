import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import { watchCommit } from '../../../src/storage/postgres/joined.js'
import { postgresUrl, testPool } from '../../helpers/postgres.js'

describe('watchCommit on node-postgres', () => {
  const pool = testPool({ max: 3 })
  let driver: Driver
  beforeAll(() => {
    driver = pgDriver(pool)
  })
  afterAll(() => driver.close())

  it('resolves true once the application commits, and not before', async () => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const committed = (await watchCommit(driver, driver.joined(client)))()
      let told = false
      void committed.then(() => (told = true))
      await client.query('SELECT pg_sleep(0.05)')
      expect(told).toBe(false)
      await client.query('COMMIT')
      expect(await committed).toBe(true)
    } finally {
      client.release()
    }
  })

  it('resolves false once the application rolls back', async () => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const committed = (await watchCommit(driver, driver.joined(client)))()
      await client.query('ROLLBACK')
      expect(await committed).toBe(false)
    } finally {
      client.release()
    }
  })

  it('resolves false when COMMIT fails and the transaction is rolled back', async () => {
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      const committed = (await watchCommit(driver, driver.joined(client)))()
      await client.query('SELECT no_such_function()').catch(() => undefined)
      await client.query('COMMIT')
      expect(await committed).toBe(false)
    } finally {
      client.release()
    }
  })

  it('answers while every connection of the pool is held by the application', async () => {
    // The connection that listens for commits cannot open until the application lets one go.
    const small = new pg.Pool({ connectionString: postgresUrl(), max: 2 })
    const own = pgDriver(small)
    try {
      const clients = [await small.connect(), await small.connect()]
      const watches = []
      for (const client of clients) {
        await client.query('BEGIN')
        watches.push((await watchCommit(own, own.joined(client)))())
      }
      for (const client of clients) {
        await client.query('COMMIT')
        client.release()
      }
      expect(await Promise.all(watches)).toEqual([true, true])
    } finally {
      await own.close()
      await small.end()
    }
  })
})

describe('watchCommit on PGlite', () => {
  let db: PGlite
  // Made here, not while the file loads: compiling PGlite would hold up the tests above.
  beforeAll(async () => {
    db = await PGlite.create()
  }, 60_000)
  afterAll(() => db.close())

  it('resolves true once the application commits, false once it rolls back', async () => {
    const driver = pgliteDriver(db)
    let committed: Promise<boolean> | undefined
    await db.transaction(async (tx) => {
      committed = (await watchCommit(driver, driver.joined(tx)))()
    })
    expect(await committed).toBe(true)
    let rolledBack: Promise<boolean> | undefined
    await db.transaction(async (tx) => {
      rolledBack = (await watchCommit(driver, driver.joined(tx)))()
      await tx.rollback()
    })
    expect(await rolledBack).toBe(false)
    let thrown: Promise<boolean> | undefined
    await db
      .transaction(async (tx) => {
        thrown = (await watchCommit(driver, driver.joined(tx)))()
        throw new Error('the application failed')
      })
      .catch(() => undefined)
    expect(await thrown).toBe(false)
  })
})
