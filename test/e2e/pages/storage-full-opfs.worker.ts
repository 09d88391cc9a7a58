/** The worker of storage-full-opfs.ts: a queue on SQLite in OPFS, its engine not started. */
import { createQueue } from '../../../src/index.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { exposeQueue } from '../../../src/workers/index.js'

exposeQueue(createQueue({ store: sqliteStore({ path: '/full.db' }) }))
