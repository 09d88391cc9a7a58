/**
 * ferry on the bench's PostgreSQL server: `postgresStore({ pool })` on a pg.Pool of its own,
 * driven through the same queue adapter as ferry's other stores. The store opens (and
 * migrates) in the adapter's factory, before any timer; the pool is the application's, so the
 * adapter ends it after the queue closed.
 *
 * @module
 */
import pg from 'pg'
import { queueAdapter } from '../../lib/ferry.js'
import type { PgFactory } from './adapter.js'

export const ferryPostgres: PgFactory = async ({ url, concurrency }) => {
  const { postgresStore } = await import('../../../src/storage/postgres/index.js')
  const pool = new pg.Pool({ connectionString: url, max: 10 })
  // An idle client's error (the server ending it) is the pool's to hear; counted, not thrown.
  const errors: unknown[] = []
  pool.on('error', (e) => errors.push(e))
  const a = await queueAdapter(() => postgresStore({ pool }))({ concurrency })
  return {
    ...a,
    processNote: () => (errors.length > 0 ? `${errors.length} pool errors: ${String(errors[0])}` : undefined),
    close: async () => {
      await a.close()
      await pool.end()
    },
  }
}
