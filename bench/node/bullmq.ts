/**
 * BullMQ on a local redis-server (127.0.0.1, started by the bench; see `lib/redis.ts`). The
 * port comes in `BENCH_REDIS_PORT`; without it the rows say why Redis was not available.
 *
 * @module
 */
import { importPeer } from '../lib/peer.js'
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import type { BullModule, BullWorker, IORedisModule, RedisClient } from './peer-types.js'

export function bullmq(port: number): AdapterFactory {
  return async ({ concurrency }) => {
    const { default: IORedis } = await importPeer<IORedisModule>('ioredis')
    const { Queue, Worker } = await importPeer<BullModule>('bullmq')
    const connect = (): RedisClient => new IORedis({ host: '127.0.0.1', port, maxRetriesPerRequest: null })
    const conn = connect()
    await conn.flushall()
    const queue = new Queue('bench', { connection: conn })
    let handler: Handler = () => undefined
    let worker: BullWorker | undefined
    let workerConn: RedisClient | undefined
    const adapter: Adapter = {
      dispatch: (i) => queue.add('noop', { i }),
      dispatchMany: (n, offset) => queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: offset + k } }))),
      start: async (h) => {
        handler = h
        workerConn = connect()
        worker = new Worker('bench', async () => handler(), { connection: workerConn, concurrency })
        await worker.waitUntilReady()
      },
      stop: async () => {
        await worker?.close()
      },
      close: async () => {
        await queue.close()
        await conn.quit()
        await workerConn?.quit()
      },
    }
    return adapter
  }
}
