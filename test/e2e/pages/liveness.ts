/**
 * A tab with an engine on a shared IndexedDB database, driven by test/e2e/liveness-*.test.ts
 * through `window.live`. The first attempt of every job never ends: the tab (or the browser)
 * dies with it running, and another engine must take the job over.
 */
import { createQueue, job } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const db = new URLSearchParams(location.search).get('db') ?? 'ferry-e2e-liveness'
const queue = createQueue({ store: idbStore({ name: db }), concurrency: 4 })
const hung: string[] = []
const ran: { id: string; attempt: number; at: number; sinceStart: number }[] = []
const stalled: string[] = []
let startedAt = 0
queue.events.subscribe((e) => {
  if (e.kind === 'job:stalled') stalled.push(e.jobId)
})
queue.register('e2e:work', async (_p, ctx) => {
  if (ctx.attempt === 1) {
    hung.push(ctx.id)
    return new Promise(() => undefined)
  }
  ran.push({ id: ctx.id, attempt: ctx.attempt, at: Date.now(), sinceStart: performance.now() - startedAt })
  return 'done'
})

const live = {
  async dispatch(count: number): Promise<string[]> {
    return (await queue.dispatchMany(Array.from({ length: count }, (_, i) => job('e2e:work', i)))).map((r) => r.id)
  },
  async start(): Promise<void> {
    startedAt = performance.now()
    await queue.start()
  },
  /** Jobs whose first attempt runs here, for good. */
  hung: (): string[] => [...hung],
  /** Later attempts that ran here. */
  ran: () => [...ran],
  stalled: (): string[] => [...stalled],
  hasWebLocks: (): boolean => typeof navigator.locks?.query === 'function',
}

declare global {
  interface Window {
    live: typeof live
  }
}

Object.assign(window, { live, e2eReady: true })
