/**
 * The worker the host tab starts: a queue on SQLite in OPFS. It reports each run it starts on
 * a BroadcastChannel, so the test can count runs across host changes.
 */
import { createQueue, type Queue, type Store } from '../../../src/index.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { exposeQueue } from '../../../src/workers/index.js'

type Jobs = { work: { n: number } }
const runs = new BroadcastChannel('e2e-runs')

/** Opens the store, waiting while the previous host's worker still holds the OPFS files. */
async function openStore(): Promise<Store> {
  for (let i = 0; ; i++) {
    const store = sqliteStore({ path: '/tabs.db' })
    try {
      await store.counts(Date.now())
      return store
    } catch (err) {
      await store.close().catch(() => undefined)
      if (i > 100) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

async function openQueue(): Promise<Queue<Jobs>> {
  const queue = createQueue<Jobs>({ store: await openStore(), concurrency: 8, leaseMs: 2000 })
  queue.register('work', (_p, ctx) => {
    runs.postMessage({ id: ctx.id, attempt: ctx.attempt })
    return 'ok'
  })
  await queue.start()
  return queue
}

// Before any await: messages that reach a worker before it listens are lost.
exposeQueue(openQueue())
