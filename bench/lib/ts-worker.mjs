// Starts a worker_thread whose entry is TypeScript: registers tsx's loader in this thread,
// then imports the entry named in workerData.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

/** @type {unknown} */
const data = workerData
if (typeof data !== 'object' || data === null || !('entry' in data)) throw new Error('workerData.entry names the module to run')
register()
await import(String(data.entry))
