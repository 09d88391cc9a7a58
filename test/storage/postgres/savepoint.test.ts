/**
 * Dispatches joined to the application's transaction (`{ tx }`) under the application's own
 * savepoints: a savepoint rolled back takes the jobs dispatched under it away while the
 * transaction commits, and their events are never told; what was kept is told.
 */
import { PGlite } from '@electric-sql/pglite'
import { describe, expect, it } from 'vitest'
import { defineStore } from '../../../src/core/define-store.js'
import type { QueueEvent } from '../../../src/core/types.js'
import { createQueue, job } from '../../../src/index.js'
import { PostgresBackend } from '../../../src/storage/postgres/backend.js'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import { migrate } from '../../../src/storage/postgres/migrate.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'

/** The application's transaction: `sql` runs a statement in it, `tx` is what `{ tx }` is given. */
type Body = (sql: (text: string) => Promise<unknown>, tx: unknown) => Promise<void>

interface Subject {
  driver: Driver
  schema: string
  /** Runs `body` in a transaction of the application's, which commits once it resolved. */
  inTransaction(body: Body): Promise<void>
  jobIds(): Promise<string[]>
  end(): Promise<void>
}

function scenarios(name: string, make: () => Promise<Subject>): void {
  describe(`dispatch under an application savepoint, on ${name}`, { timeout: 60_000 }, () => {
    /** A queue on the subject, the events it tells, and each joined write's answer to whether it committed. */
    async function setup() {
      const s = await make()
      const backend = new PostgresBackend({ driver: s.driver, schema: s.schema, ready: () => Promise.resolve() })
      const answers: Promise<boolean>[] = []
      const committed = backend.committed.bind(backend)
      backend.committed = (tx: unknown) => {
        const answer = committed(tx)
        answers.push(answer)
        return answer
      }
      const queue = createQueue({ store: defineStore(backend) })
      const told: QueueEvent[] = []
      queue.events.subscribe((e) => told.push(e))
      /** Every answer, and then what was told with them. */
      const settled = async (): Promise<boolean[]> => {
        const all = await Promise.all(answers)
        await new Promise((resolve) => setImmediate(resolve))
        return all
      }
      const dispatched = (): string[] => told.flatMap((e) => (e.kind === 'job:dispatched' ? [e.jobId] : []))
      return {
        s,
        queue,
        settled,
        dispatched,
        async end() {
          await queue.close()
          await s.end()
        },
      }
    }

    it('stores and tells nothing of jobs dispatched under a savepoint rolled back, the transaction committed', async () => {
      const t = await setup()
      try {
        await t.s.inTransaction(async (sql, tx) => {
          await sql('SAVEPOINT app')
          await t.queue.dispatch(job('mail', { n: 1 }), { tx })
          await t.queue.dispatchMany([job('mail', { n: 2 }), job('mail', { n: 3 })], { tx })
          await sql('ROLLBACK TO SAVEPOINT app')
        })
        expect(await t.s.jobIds()).toEqual([])
        expect(await t.settled()).toEqual([false, false])
        expect(t.dispatched()).toEqual([])
      } finally {
        await t.end()
      }
    })

    it('of two dispatches, tells the one kept and not the one under a savepoint rolled back', async () => {
      const t = await setup()
      try {
        let kept = ''
        await t.s.inTransaction(async (sql, tx) => {
          kept = (await t.queue.dispatch(job('mail', { n: 1 }), { tx })).id
          await sql('SAVEPOINT app')
          await t.queue.dispatch(job('mail', { n: 2 }), { tx })
          await sql('ROLLBACK TO SAVEPOINT app')
        })
        expect(await t.s.jobIds()).toEqual([kept])
        expect(await t.settled()).toEqual([true, false])
        expect(t.dispatched()).toEqual([kept])
      } finally {
        await t.end()
      }
    })

    it('tells jobs dispatched under a savepoint released, once the transaction committed', async () => {
      const t = await setup()
      try {
        let id = ''
        await t.s.inTransaction(async (sql, tx) => {
          await sql('SAVEPOINT app')
          id = (await t.queue.dispatch(job('mail', { n: 1 }), { tx })).id
          await sql('RELEASE SAVEPOINT app')
          // A savepoint after the dispatch, rolled back, leaves it in place.
          await sql('SAVEPOINT later')
          await sql('ROLLBACK TO SAVEPOINT later')
        })
        expect(await t.s.jobIds()).toEqual([id])
        expect(await t.settled()).toEqual([true])
        expect(t.dispatched()).toEqual([id])
      } finally {
        await t.end()
      }
    })
  })
}

const pool = testPool({ max: 4 })

scenarios('node-postgres', async () => {
  const schema = freshSchema()
  const driver = pgDriver(pool)
  await migrate(driver, schema)
  return {
    driver,
    schema,
    async inTransaction(body) {
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        await body((text) => client.query(text), client)
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw err
      } finally {
        client.release()
      }
    },
    jobIds: async () => (await pool.query<{ id: string }>(`SELECT id FROM "${schema}".jobs ORDER BY seq`)).rows.map((r) => r.id),
    end: () => driver.close(),
  }
})

scenarios('PGlite', async () => {
  const db = new PGlite()
  const driver = pgliteDriver(db)
  await migrate(driver, 'ferry')
  return {
    driver,
    schema: 'ferry',
    async inTransaction(body) {
      await db.transaction(async (tx) => body((text) => tx.query(text), tx))
    },
    jobIds: async () => (await db.query<{ id: string }>('SELECT id FROM ferry.jobs ORDER BY seq')).rows.map((r) => r.id),
    async end() {
      await driver.close()
      await db.close()
    },
  }
})
