/**
 * The `Queue` of workbox-background-sync: requests kept in IndexedDB until a sync replays
 * them. A job is a POST `Request`; processing is the loop a custom `onSync` runs
 * (`shiftRequest` until empty) with a no-op instead of `fetch`, one loop per unit of
 * concurrency.
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
  const loop = async () => {
    while (!stopped) {
      const entry = await q.shiftRequest()
      if (entry) handler()
      else await sleep(1)
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
  }
  return adapter
}
