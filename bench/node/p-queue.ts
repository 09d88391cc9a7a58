/**
 * p-queue: an in-memory promise queue with a concurrency limit, the ceiling of what an
 * in-process queue with no storage can do. Dispatch is `add` on a paused queue.
 *
 * @module
 */
import { importPeer } from '../lib/peer.js'
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import type { PQueueModule } from './peer-types.js'

export const pQueue: AdapterFactory = async ({ concurrency }) => {
  const { default: PQueue } = await importPeer<PQueueModule>('p-queue')
  const q = new PQueue({ concurrency, autoStart: false })
  let handler: Handler = () => undefined
  const task = async () => handler()
  const adapter: Adapter = {
    // add() resolves when the task has run; being in the queue is what dispatch means here.
    dispatch: async () => void q.add(task),
    dispatchMany: async (n) => void q.addAll(Array.from({ length: n }, () => task)),
    start: async (h) => {
      handler = h
      q.start()
    },
    stop: () => q.onIdle(),
    close: async () => {
      q.pause()
      q.clear()
    },
    manyNote: 'addAll of 1,000 tasks',
  }
  return adapter
}
