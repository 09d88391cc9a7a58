/**
 * The service worker of the sw-outbox page: the same outbox queue on the same IndexedDB
 * database, hosted with `serviceWorkerHost` so it drains on Background Sync after the page
 * has closed. Registered as a module (`{ type: 'module' }`), served as TypeScript by Vite.
 */
import { createQueue } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { serviceWorkerHost } from '../../../src/workers/index.js'
import { registerUploads, type Attempt, type OutboxJobs } from './outbox-jobs.js'

const scope = globalThis as unknown as {
  skipWaiting(): Promise<void>
  clients: { claim(): Promise<void> }
  addEventListener(type: string, l: (e: Event & { waitUntil(p: Promise<unknown>): void }) => void): void
}
// Each attempt made here is told to any page that listens (none, once the pages have closed).
const attempts = new BroadcastChannel('e2e-sw-attempts')
const queue = createQueue<OutboxJobs>({ store: idbStore({ name: 'outbox' }), concurrency: 2 })
registerUploads(queue, 'sw', (a: Attempt) => attempts.postMessage(a))
serviceWorkerHost(queue, { tag: 'outbox' })

scope.addEventListener('install', (e) => e.waitUntil(scope.skipWaiting()))
scope.addEventListener('activate', (e) => e.waitUntil(scope.clients.claim()))
