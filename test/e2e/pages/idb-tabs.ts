/**
 * A tab with an engine on a shared IndexedDB database, driven by test/e2e/idb-tabs.test.ts
 * through `window.tab`: it records the jobs its own engine ran.
 */
import { createQueue, job } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const db = new URLSearchParams(location.search).get('db') ?? 'ferry-e2e-tabs'
const queue = createQueue({ store: idbStore({ name: db }), concurrency: 4 })
const ran: string[] = []
queue.register('e2e:work', async (_p, ctx) => {
  ran.push(ctx.id)
  await new Promise((r) => setTimeout(r, Math.random() * 4))
})

const tab = {
  async dispatch(count: number): Promise<string[]> {
    return (await queue.dispatchMany(Array.from({ length: count }, (_, i) => job('e2e:work', i)))).map((r) => r.id)
  },
  start: (): Promise<void> => queue.start(),
  ran: (): string[] => [...ran],
  succeeded: async (): Promise<number> => (await queue.counts()).succeeded,
}

declare global {
  interface Window {
    tab: typeof tab
    e2eReady: boolean
  }
}

window.tab = tab
window.e2eReady = true
