/**
 * A tab of an offline-first app: its own engine on the origin's shared IndexedDB database.
 * Driven by test/e2e/tabs-idb.test.ts through `window.tabs`.
 */
import { createQueue, job, type Counts } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const params = new URLSearchParams(location.search)
const db = params.get('db') ?? 'ferry-e2e-tabs'
let claims = 0
// Counts the engine's finished claims, so a test can tell when this tab's engine has looked for
// work and gone idle.
const store = new Proxy(idbStore({ name: db }), {
  get(target, prop) {
    const v = Reflect.get(target, prop, target) as unknown
    if (typeof v !== 'function') return v
    if (prop !== 'settleAndClaim') return v.bind(target)
    return async (...args: unknown[]) => {
      const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args)
      claims++
      return out
    }
  },
})
const queue = createQueue({ store, concurrency: 2, leaseMs: Number(params.get('leaseMs') ?? 30_000) })
const ran: string[] = []
let succeededHeard = 0
let lastEventAt = performance.now()
queue.events.subscribe((e) => {
  lastEventAt = performance.now()
  if (e.kind === 'job:succeeded') succeededHeard++
})

const api = {
  /** Registers the handler for `work` jobs and starts the engine. `hang` makes every run wait forever. */
  async start(o: { hang?: boolean } = {}): Promise<void> {
    queue.register('work', async (_p, ctx) => {
      ran.push(ctx.id)
      if (o.hang) return new Promise(() => {})
      await new Promise((r) => setTimeout(r, Math.random() * 3))
      return 'ok'
    })
    await queue.start()
  },
  /** Dispatches `count` work jobs in chunks; returns their ids. */
  async dispatch(count: number, chunk = 50): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i += chunk) {
      const n = Math.min(chunk, count - i)
      const out = await queue.dispatchMany(Array.from({ length: n }, (_, k) => job('work', { n: i + k })))
      ids.push(...out.map((r) => r.id))
    }
    return ids
  },
  ran: (): string[] => [...ran],
  /** How many claims this tab's engine has finished. */
  claims: (): number => claims,
  counts: (): Promise<Counts> => queue.counts(),
  /** How many job:succeeded events this tab has heard, from its own engine and the others'. */
  succeededHeard: (): number => succeededHeard,
  quietFor: (): number => performance.now() - lastEventAt,
}

export type TabsIdbApi = typeof api
;(window as unknown as { tabs: TabsIdbApi; e2eReady: boolean }).tabs = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
