/**
 * The service worker of the http-sw page: the outbox of requests on the page's IndexedDB
 * database, hosted with `serviceWorkerHost` so it is sent on Background Sync after the page
 * has closed. Registered as a module, served as TypeScript by Vite.
 */
import { createQueue } from '../../../src/index.js'
import { httpHandler, type HttpJobs } from '../../../src/http/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { serviceWorkerHost } from '../../../src/workers/index.js'
import { useCreatedId } from './created-id.js'

const scope = globalThis as unknown as {
  skipWaiting(): Promise<void>
  clients: { claim(): Promise<void> }
  addEventListener(type: string, l: (e: Event & { waitUntil(p: Promise<unknown>): void }) => void): void
}
const queue = createQueue<HttpJobs>({ store: idbStore({ name: 'http-outbox' }) })
queue.register('http', httpHandler({ prepare: useCreatedId, headers: () => ({ 'X-Trace': 'sw' }) }), { network: 'online' })
serviceWorkerHost(queue, { tag: 'http' })

scope.addEventListener('install', (e) => e.waitUntil(scope.skipWaiting()))
scope.addEventListener('activate', (e) => e.waitUntil(scope.clients.claim()))
