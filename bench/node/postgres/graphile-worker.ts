/**
 * graphile-worker on the bench's PostgreSQL server: with its defaults (one job per fetch, each
 * completion its own statement, LISTEN/NOTIFY wake-ups), or with the batching its performance
 * guide describes (a local queue of jobs fetched ahead, completions batched). Its migrations run
 * when the adapter is made, before any timer; its log is silenced.
 *
 * @module
 */
import pg from 'pg'
import { importPeer } from '../../lib/peer.js'
import type { Adapter, Handler } from '../../lib/adapter.js'
import type { GraphileModule, GraphileRunner } from '../peer-types.js'
import type { PgFactory } from './adapter.js'

/** The batched setup: jobs fetched ahead per process, and the wait before completions go out together. */
export const LOCAL_QUEUE = 32
export const COMPLETE_DELAY_MS = 0

export const graphileWorker = (batched: boolean): PgFactory => async ({ url, concurrency }) => {
  const gw = await importPeer<GraphileModule>('graphile-worker')
  // graphile-worker's advice: at least 10, or concurrency + 2.
  const pool = new pg.Pool({ connectionString: url, max: Math.max(10, concurrency + 2) })
  // An idle client's error (the server ending it) is the pool's to hear; counted, not thrown.
  const errors: unknown[] = []
  pool.on('error', (e) => errors.push(e))
  pool.on('connect', (client) => client.on('error', (e) => errors.push(e)))
  const logger = new gw.Logger(() => () => undefined)
  await gw.runMigrations({ pgPool: pool, logger })
  const utils = await gw.makeWorkerUtils({ pgPool: pool, logger })
  let handler: Handler = () => undefined
  let runner: GraphileRunner | undefined
  const adapter: Adapter = {
    dispatch: (i) => utils.addJob('noop', { i }),
    dispatchMany: (n, offset) => utils.addJobs(Array.from({ length: n }, (_, k) => ({ identifier: 'noop', payload: { i: offset + k } }))),
    start: async (h) => {
      handler = h
      runner = await gw.run({
        pgPool: pool,
        logger,
        concurrency,
        noHandleSignals: true,
        taskList: { noop: async () => handler() },
        // Options of graphile-config's preset only: run() ignores them at the top level.
        ...(batched ? { preset: { worker: { localQueue: { size: LOCAL_QUEUE }, completeJobBatchDelay: COMPLETE_DELAY_MS } } } : {}),
      })
    },
    stop: async () => {
      await runner?.stop()
      runner = undefined
    },
    close: async () => {
      await runner?.stop()
      await utils.release()
      await pool.end()
    },
    processNote: () => (errors.length > 0 ? `${errors.length} pool errors: ${String(errors[0])}` : undefined),
  }
  return adapter
}
