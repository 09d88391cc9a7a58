// Starts a worker_thread whose entry is TypeScript: registers tsx's loader in this thread,
// then imports the entry named in workerData.
import { workerData } from 'node:worker_threads'
import { register } from 'tsx/esm/api'

/** @type {{ entry: string }} */
const data = workerData
register()
await import(data.entry)
