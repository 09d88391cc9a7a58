/**
 * An offline-first page: an outbox of uploads on IndexedDB, run by the page's own engine, the
 * upload handler calling fetch with `network: 'online'`. A dedicated worker reports what it
 * sees of the network. Driven by test/e2e/outbox.test.ts through `window.outbox`.
 */
import { createQueue, job, type JobRecord, type QueueEvent } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { requestBackgroundSync } from '../../../src/workers/index.js'
import { registerUploads, type Attempt, type OutboxJobs } from './outbox-jobs.js'

const queue = createQueue<OutboxJobs>({ store: idbStore({ name: 'outbox' }), concurrency: 2 })
const attempts: Attempt[] = []
registerUploads(queue, 'page', (a) => attempts.push(a))
const network: string[] = []
queue.events.subscribe((e: QueueEvent) => {
  if (e.kind === 'queue:online' || e.kind === 'queue:offline' || e.kind === 'job:deferred') network.push(e.kind)
})
const pageEvents: string[] = []
addEventListener('online', () => pageEvents.push('online'))
addEventListener('offline', () => pageEvents.push('offline'))

const worker = new Worker(new URL('./outbox-probe.worker.ts', import.meta.url), { type: 'module' })
const workerEvents: string[] = []
let workerOnLine: ((v: boolean) => void) | undefined
const workerReady = new Promise<void>((resolve) => {
  worker.onmessage = (m: MessageEvent<{ ready?: true; event?: string; onLine?: boolean }>) => {
    if (m.data.ready) resolve()
    if (m.data.event) workerEvents.push(m.data.event)
    if (m.data.onLine !== undefined) workerOnLine?.(m.data.onLine)
  }
})

const api = {
  /** Dispatches one upload per id (the job's id is the upload's); `always` uses the control type. */
  async dispatch(ids: string[], o: { always?: boolean } = {}): Promise<void> {
    const spec = (id: string) => (o.always ? job('upload:always', { id, body: `photo ${id}` }) : job('upload', { id, body: `photo ${id}` }))
    await queue.dispatchMany(ids.map((id) => spec(id).withId(id).retry(20).backoff(200)))
  },
  attempts: (): Attempt[] => [...attempts],
  jobs: async (ids: string[]): Promise<(JobRecord | undefined)[]> => Promise.all(ids.map((id) => queue.getJob(id))),
  /** What the page, its worker and its engine see of the network. */
  async network() {
    const inWorker = new Promise<boolean>((resolve) => (workerOnLine = resolve))
    worker.postMessage('onLine?')
    return {
      page: { onLine: navigator.onLine, events: [...pageEvents] },
      worker: { onLine: await inWorker, events: [...workerEvents] },
      queue: { online: queue.online, events: [...network] },
    }
  },
  requestBackgroundSync: () => requestBackgroundSync({ tag: 'outbox' }),
  /** Registers the outbox service worker and asks for a sync while it is still installing. */
  async registerAndRequestSync(): Promise<{ installing: boolean; synced: boolean; active: boolean }> {
    const r = await navigator.serviceWorker.register(new URL('./sw-outbox.sw.ts', import.meta.url), { type: 'module' })
    const installing = r.installing !== null && r.active === null
    const synced = await requestBackgroundSync({ tag: 'outbox' })
    return { installing, synced, active: r.active !== null }
  },
}

export type OutboxApi = typeof api
await workerReady
await queue.start()
;(window as unknown as { outbox: OutboxApi }).outbox = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
