/**
 * The demo's engine, in a dedicated worker: the outbox on IndexedDB or on SQLite in OPFS (the
 * page names the store in the worker's `name`), sending each `'http'` job with `httpHandler()`.
 *
 * Its network is the browser's and the page's switch together: offline while either says so.
 * The switch reaches it on a BroadcastChannel, so every tab's switch and every tab's engine
 * agree.
 */
import { browserConnectivity, createQueue, type Connectivity, type Queue, type Store } from '../../src/index.js'
import { httpHandler, type HttpJobs, type RequestSpec } from '../../src/http/index.js'
import { exposeQueue } from '../../src/workers/index.js'
import { NETWORK_CHANNEL, isNetworkMessage, type NetworkMessage, type StoreKind } from './shared.js'

/**
 * Online while the browser is and the page's switch is on. Off until a page has told the
 * switch's state: nothing is sent before the demo says the network is there.
 */
function switchedConnectivity(): Connectivity {
  const browser = browserConnectivity()
  const channel = new BroadcastChannel(NETWORK_CHANNEL)
  let switchOn = false
  const listeners = new Set<(online: boolean) => void>()
  const online = (): boolean => switchOn && browser.online
  channel.onmessage = (m: MessageEvent<unknown>) => {
    if (!isNetworkMessage(m.data) || m.data.t !== 'state') return
    switchOn = m.data.on
    for (const l of listeners) l(online())
  }
  channel.postMessage({ t: 'ask' } satisfies NetworkMessage)
  return {
    get online() {
      return online()
    },
    subscribe(listener) {
      listeners.add(listener)
      const off = browser.subscribe(() => listener(online()))
      return () => {
        listeners.delete(listener)
        off()
      }
    },
  }
}

/** The OPFS file, waiting while the previous host's worker (a tab just reloaded) still holds it. */
async function openOpfs(): Promise<Store> {
  const { sqliteStore } = await import('../../src/storage/wasm-sqlite/index.browser.js')
  for (let i = 0; ; i++) {
    const store = sqliteStore({ path: '/ferry-demo.db' })
    try {
      await store.counts(Date.now())
      return store
    } catch (err) {
      await store.close().catch(() => undefined)
      if (i >= 100) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

async function openStore(kind: StoreKind): Promise<Store> {
  if (kind === 'opfs') return openOpfs()
  const { idbStore } = await import('../../src/storage/idb/index.js')
  return idbStore({ name: 'ferry-demo' })
}

/** An album's summary is sent when its batch settles: its counts are filled in then. */
function withBatchCounts(spec: RequestSpec, ctx: { batch?: { succeeded: number; failed: number; cancelled: number } }): RequestSpec {
  const b = ctx.batch
  if (!b || typeof spec.body !== 'object' || spec.body === null) return spec
  return { ...spec, body: { ...spec.body, succeeded: b.succeeded, failed: b.failed, cancelled: b.cancelled } }
}

async function openQueue(): Promise<Queue<HttpJobs>> {
  const kind: StoreKind = self.name === 'opfs' ? 'opfs' : 'idb'
  const queue = createQueue<HttpJobs>({
    store: await openStore(kind),
    connectivity: switchedConnectivity(),
    concurrency: 3,
    // A flaky server refuses often: retried soon, so the demo keeps moving, and often enough
    // that at the page's highest failure rate (0.9) a photo fails for good with a chance of
    // 0.9^151 ≈ 1e-7. That is some four minutes of refusals (waits of 1 to 2 s): a server that
    // refuses for longer fails the photo, and the dashboard's Replay sends it again.
    defaults: { retry: 150, backoff: { type: 'exponential', base: 250, max: 2000, jitter: true } },
  })
  queue.register('http', httpHandler({ prepare: withBatchCounts }), { network: 'online' })
  await queue.start()
  return queue
}

// Before any await: a worker drops the messages that reach it before it listens.
exposeQueue(openQueue())
