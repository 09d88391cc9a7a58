/**
 * A page with a queue on an IndexedDB store, driven by test/e2e/idb-reload.test.ts through
 * `window.e2e`. The engine starts only when the test says, so a job can be dispatched in one
 * page load and run in the next.
 */
import { createQueue, job, type JobRecord } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const db = new URLSearchParams(location.search).get('db') ?? 'ferry-e2e'
const queue = createQueue({ store: idbStore({ name: db }) })
const loadedAt = performance.timeOrigin

const api = {
  loadedAt,
  async dispatch(payload: unknown): Promise<string> {
    return (await queue.dispatch(job('e2e:echo', payload))).id
  },
  getJob: (id: string): Promise<JobRecord | undefined> => queue.getJob(id),
  /** Registers the handler, starts the engine and resolves once job `id` succeeded. */
  async runUntilDone(id: string): Promise<JobRecord | undefined> {
    const done = new Promise<void>((resolve) => {
      const off = queue.events.subscribe((e) => {
        if (e.kind === 'job:succeeded' && e.jobId === id) {
          off()
          resolve()
        }
      })
    })
    queue.register('e2e:echo', (payload) => ({ echoed: payload, ranInPageLoadedAt: loadedAt }))
    await queue.start()
    await done
    return queue.getJob(id)
  },
}

declare global {
  interface Window {
    e2e: typeof api
    e2eReady: boolean
  }
}

window.e2e = api
window.e2eReady = true
