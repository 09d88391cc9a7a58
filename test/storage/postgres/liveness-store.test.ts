import { PGlite } from '@electric-sql/pglite'
import { describe, expect, it } from 'vitest'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { livenessContract } from '../../../src/testing/contract/liveness.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 10 })

describe('postgresStore liveness', () => {
  it('has liveness on a server: an owner held through one store is alive for another store of the schema', async () => {
    const schema = freshSchema()
    const [a, b] = [postgresStore({ pool, schema }), postgresStore({ pool, schema })]
    try {
      expect(a.liveness).toBeDefined()
      const release = await a.liveness!.hold('engine-a')
      expect(await b.liveness!.alive()).toEqual(['engine-a'])
      release()
      await expect.poll(() => b.liveness!.alive()).toEqual([])
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('has none on PGlite, where leases expire instead', async () => {
    const db = new PGlite()
    const store = postgresStore({ pool: db })
    try {
      expect(store.liveness).toBeUndefined()
    } finally {
      await store.close()
      await db.close()
    }
    // PGlite takes a second or more to start on a busy machine.
  }, 30_000)

  it('releases its engines\' locks when closed', async () => {
    const schema = freshSchema()
    const [a, b] = [postgresStore({ pool, schema }), postgresStore({ pool, schema })]
    try {
      await a.liveness!.hold('engine-a')
      expect(await b.liveness!.alive()).toEqual(['engine-a'])
      await a.close()
      await expect.poll(() => b.liveness!.alive()).toEqual([])
    } finally {
      await a.close()
      await b.close()
    }
  })
})

livenessContract(() => postgresStore({ pool, schema: freshSchema() }))
