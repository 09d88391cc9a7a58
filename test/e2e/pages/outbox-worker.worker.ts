/**
 * The outbox queue hosted in a dedicated worker, on IndexedDB, with the browser's connectivity
 * as the worker sees it (the default). Each attempt is told to the page on a BroadcastChannel.
 */
import { createQueue, type Queue } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { exposeQueue } from '../../../src/workers/index.js'
import { registerUploads, type OutboxJobs } from './outbox-jobs.js'

const attempts = new BroadcastChannel('e2e-worker-attempts')

async function openQueue(): Promise<Queue<OutboxJobs>> {
  const queue = createQueue<OutboxJobs>({ store: idbStore({ name: 'outbox' }), concurrency: 2 })
  registerUploads(queue, 'worker', (a) => attempts.postMessage(a))
  await queue.start()
  return queue
}

// Before any await: a worker drops messages that arrive before it listens.
exposeQueue(openQueue())
