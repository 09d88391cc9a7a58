/**
 * The `Queue` of workbox-background-sync: requests kept in IndexedDB until a sync replays
 * them. A job is a POST `Request`; processing is the loop a custom `onSync` runs
 * (`shiftRequest` until empty) with a no-op instead of `fetch`, one loop per unit of
 * concurrency.
 *
 * `shiftRequest` reads the first entry in one transaction and deletes it in another, so loops
 * running side by side can shift the same entry. Each request is counted once, by its URL:
 * the handler runs for the first delivery only, and the row says how many were repeats.
 * (Workbox's own `replayRequests` runs a single loop, which never repeats one.)
 *
 * The Queue is made for a service worker and reads `self.registration`; here it runs on the
 * page with a stand-in registration without `sync`, which makes it take its documented
 * fallback (`forceSyncFallback`). Its IndexedDB work is the same.
 *
 * @module
 */
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import { sleep } from '../lib/stats.js'

let queues = 0

export const workbox: AdapterFactory = async ({ concurrency }) => {
  const scope = globalThis as { registration?: object }
  scope.registration ??= {}
  const { Queue } = await import('workbox-background-sync')
  const q = new Queue(`bench-${Date.now()}-${queues++}`, { forceSyncFallback: true, onSync: async () => undefined })
  const request = (i: number) => new Request(`/jobs/${i}`, { method: 'POST', body: JSON.stringify({ i }), headers: { 'content-type': 'application/json' } })
  let handler: Handler = () => undefined
  let stopped = true
  let loops: Promise<void>[] = []
  const delivered = new Set<string>()
  let repeats = 0
  const loop = async () => {
    while (!stopped) {
      const entry = await q.shiftRequest()
      if (!entry) await sleep(1)
      else if (delivered.has(entry.request.url)) repeats++
      else {
        delivered.add(entry.request.url)
        handler()
      }
    }
  }
  const adapter: Adapter = {
    dispatch: (i) => q.pushRequest({ request: request(i) }),
    dispatchMany: async (n, offset) => {
      for (let k = 0; k < n; k++) await q.pushRequest({ request: request(offset + k) })
    },
    start: async (h) => {
      handler = h
      stopped = false
      loops = Array.from({ length: concurrency }, loop)
    },
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    },
    close: async () => undefined,
    manyNote: 'no batch API: 1,000 pushRequest calls',
    processNote: () =>
      concurrency > 1
        ? `${concurrency} shiftRequest loops; the jobs column counts each request once: ${repeats.toLocaleString('en-US')} more deliveries repeated a request already run`
        : undefined,
  }
  return adapter
}
