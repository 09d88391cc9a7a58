/**
 * pg-boss on the bench's PostgreSQL server. Its worker sleeps its polling interval after every
 * fetch unless the fetch came back full with `burstWhenBatchFull` (which needs batchSize > 1),
 * so at batchSize 1 a worker runs one job per interval: concurrency c is `localConcurrency` c
 * workers, each fetching up to BATCH jobs at a time in burst mode and running them one after
 * another. LISTEN/NOTIFY is on (`useListenNotify` and a `notify` queue), the shortest polling
 * interval it allows (0.5 s) as its fallback. Its schema is made when the adapter is made.
 *
 * @module
 */
import { importPeer } from '../../lib/peer.js'
import type { Adapter, Handler } from '../../lib/adapter.js'
import type { PgBossModule } from '../peer-types.js'
import type { PgFactory } from './adapter.js'

/** Jobs a pg-boss worker fetches at once. */
export const BATCH = 16
const QUEUE = 'bench'

export const pgBoss: PgFactory = async ({ url, concurrency }) => {
  const { PgBoss } = await importPeer<PgBossModule>('pg-boss')
  const boss = new PgBoss({ connectionString: url, max: 10, useListenNotify: true })
  const errors: unknown[] = []
  boss.on('error', (e) => errors.push(e))
  boss.on('warning', () => undefined)
  await boss.start()
  await boss.createQueue(QUEUE, { notify: true })
  let handler: Handler = () => undefined
  let working = false
  const adapter: Adapter = {
    dispatch: (i) => boss.send(QUEUE, { i }),
    dispatchMany: (n, offset) => boss.insert(QUEUE, Array.from({ length: n }, (_, k) => ({ data: { i: offset + k } }))),
    start: async (h) => {
      handler = h
      working = true
      await boss.work(QUEUE, { localConcurrency: concurrency, batchSize: BATCH, burstWhenBatchFull: true, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        for (let k = 0; k < jobs.length; k++) {
          // Each job after an await, as a handler of its own would be.
          await Promise.resolve()
          handler()
        }
      })
    },
    stop: async () => {
      if (working) await boss.offWork(QUEUE, { wait: true })
      working = false
    },
    close: async () => {
      await boss.stop({ graceful: true, close: true })
    },
    processNote: () => (errors.length > 0 ? `${errors.length} errors reported by pg-boss: ${String(errors[0])}` : undefined),
  }
  return adapter
}
