/**
 * An offline-first page whose outbox of requests a service worker sends on Background Sync.
 * The page only dispatches (it runs no engine), so every request seen by the server came from
 * the service worker; with `?engine` it runs its own engine instead. Driven by test/http/service-worker.test.ts through `window.outbox`.
 */
import { createQueue, type ChainState, type JobRecord } from '../../../src/index.js'
import { httpHandler, request, type HttpJobs } from '../../../src/http/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { requestBackgroundSync } from '../../../src/workers/index.js'
import { useCreatedId } from './created-id.js'

// With `?engine`, the page runs the outbox itself, on a database of its own, and no service worker.
const engine = new URLSearchParams(location.search).has('engine')
if (!engine) {
  await navigator.serviceWorker.register(new URL('./http-sw.sw.ts', import.meta.url), { type: 'module' })
  await navigator.serviceWorker.ready
}

const queue = createQueue<HttpJobs>({ store: idbStore({ name: engine ? 'http-outbox-page' : 'http-outbox' }) })
if (engine) {
  queue.register('http', httpHandler({ prepare: useCreatedId }), { network: 'online' })
  await queue.start()
}

const api = {
  /** Dispatches a chain POST then PUT to `base` and asks for a Background Sync. */
  async dispatchChain(base: string): Promise<{ chainId: string; sync: boolean }> {
    const chainId = await queue
      .chain(
        request({ url: `${base}/items`, method: 'POST', body: { title: 'made offline' } }),
        request({ url: `${base}/items/:id`, method: 'PUT', body: { title: 'sent by the service worker' } }),
      )
      .dispatch()
    return { chainId, sync: await requestBackgroundSync({ tag: 'http' }) }
  },
  /** Dispatches one POST to `url`, retried after `backoffMs` when it fails. */
  async dispatchOne(url: string, backoffMs: number): Promise<string> {
    return (await queue.dispatch(request({ url, method: 'POST', body: { n: 1 } }).backoff(backoffMs))).id
  },
  chain: (id: string): Promise<ChainState> => queue.findChain(id),
  jobs: (ids: string[]): Promise<(JobRecord | undefined)[]> => Promise.all(ids.map((id) => queue.getJob(id))),
  onLine: () => navigator.onLine,
}

export type HttpSwApi = typeof api
;(window as unknown as { outbox: HttpSwApi }).outbox = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
