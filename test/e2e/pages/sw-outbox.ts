/**
 * An offline-first page whose outbox a service worker drains on Background Sync: the page
 * dispatches into IndexedDB, runs its own engine too, and asks for a sync after each
 * dispatch. With `?nosync`, the page's registration has no `sync` (as in browsers without
 * Background Sync), so only the page's engine runs the jobs; with `?noengine`, the page runs
 * no engine. Driven by test/e2e/sw-outbox.test.ts
 * through `window.outbox`.
 */
import { createQueue, job, type JobRecord } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { requestBackgroundSync } from '../../../src/workers/index.js'
import { registerUploads, type Attempt, type OutboxJobs } from './outbox-jobs.js'

const params = new URLSearchParams(location.search)
if (params.has('nosync')) {
  // What a browser without Background Sync shows: a registration with no `sync`.
  delete (ServiceWorkerRegistration.prototype as { sync?: unknown }).sync
}
await navigator.serviceWorker.register(new URL('./sw-outbox.sw.ts', import.meta.url), { type: 'module' })
await navigator.serviceWorker.ready

const queue = createQueue<OutboxJobs>({ store: idbStore({ name: 'outbox' }), concurrency: 2 })
const attempts: Attempt[] = []
registerUploads(queue, 'page', (a) => attempts.push(a))
const inSw: Attempt[] = []
new BroadcastChannel('e2e-sw-attempts').onmessage = (m: MessageEvent<Attempt>) => void inSw.push(m.data)
// With `?noengine`, only the service worker runs jobs.
if (!params.has('noengine')) await queue.start()

const api = {
  /**
   * Dispatches one upload per id, then asks for a Background Sync (unless `sync` is false);
   * returns what that answered.
   */
  async dispatch(ids: string[], o: { hold?: number; sync?: boolean } = {}): Promise<boolean> {
    const hold = o.hold === undefined ? {} : { hold: o.hold }
    await queue.dispatchMany(ids.map((id) => job('upload', { id, body: `photo ${id}`, ...hold }).withId(id)))
    return o.sync === false ? false : requestBackgroundSync({ tag: 'outbox' })
  },
  requestSync: () => requestBackgroundSync({ tag: 'outbox' }),
  /** Attempts made by this page's engine, and those the service worker told while this page was open. */
  attempts: () => ({ page: [...attempts], sw: [...inSw] }),
  jobs: (ids: string[]): Promise<(JobRecord | undefined)[]> => Promise.all(ids.map((id) => queue.getJob(id))),
  onLine: () => navigator.onLine,
  hasSync: () => 'sync' in ServiceWorkerRegistration.prototype,
}

export type SwOutboxApi = typeof api
;(window as unknown as { outbox: SwOutboxApi }).outbox = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
