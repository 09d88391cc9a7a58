/**
 * A worker_thread hosting a ferry queue for the worker measurements: the store named in
 * workerData, a no-op handler at concurrency 8, the engine started but paused until the main
 * thread resumes it through its client.
 *
 * @module
 */
import { workerData } from 'node:worker_threads'
import { createQueue } from '../../src/index.js'
import { exposeQueue } from '../../src/workers/index.js'
import { openStore } from './ferry.js'
import type { FerryStore } from './names.js'

const { store, dir } = workerData as { store: FerryStore; dir: string }
const queue = createQueue({ store: openStore(store, dir), concurrency: 8 })
queue.register('noop', () => undefined)
queue.pause()
await queue.start()
exposeQueue(queue)
