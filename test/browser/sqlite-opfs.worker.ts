/**
 * A dedicated module Worker that hosts SQLite stores on OPFS for the page's tests: it runs a
 * scripted queue scenario, and serves Store calls for the conformance suite (the page runs the
 * suite against a proxy whose every call is a message to this worker).
 */
import { createQueue, job, serializeError, type Store } from '../../src/index.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'
import { sahPool } from '../../src/storage/wasm-sqlite/opfs.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.browser.js'

type Request =
  | { id: number; kind: 'scenario'; path: string }
  | { id: number; kind: 'open'; path: string }
  | { id: number; kind: 'call'; store: string; method: string; args: unknown[] }

const stores = new Map<string, Store>()

async function unlink(path: string): Promise<void> {
  const pool = await sahPool(await loadSqlite())
  pool.unlink(path.startsWith('/') ? path : `/${path}`)
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function scenario(path: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { inWorker: typeof document === 'undefined' }
  let store = sqliteStore({ path })
  await store.open()
  const ran: string[] = []
  const queue = createQueue({ store, concurrency: 4 })
  for (const type of ['a', 'b', 'step', 'member', 'done']) {
    queue.register(type, async (payload: unknown, ctx) => {
      ran.push(`${type}:${JSON.stringify(payload)}`)
      return { type, previous: ctx.previousResult ?? null }
    })
  }
  const single = await queue.dispatch(job('a', { n: 1 }))
  const delayed = await queue.dispatch(job('b', { n: 2 }).delay(50))
  const chainId = await queue.chain(job('step', { i: 1 }), job('step', { i: 2 }), job('step', { i: 3 })).dispatch()
  const batchId = await queue.batch(job('member', { m: 1 }), job('member', { m: 2 })).onSettled(job('done', {})).dispatch()
  await queue.start()
  await until(async () => {
    const c = await queue.counts()
    return c.waiting + c.delayed + c.active + c.blocked === 0 && ran.some((r) => r.startsWith('done'))
  })
  await queue.close()
  out.ran = ran.length
  // Reopen the same OPFS file: everything is still there.
  store = sqliteStore({ path })
  const again = createQueue({ store })
  out.single = (await again.getJob(single.id))?.state
  out.delayed = (await again.getJob(delayed.id))?.state
  out.chain = await again.findChain(chainId)
  out.batch = await again.findBatch(batchId)
  out.lastStep = (await again.listJobs({ chainId })).at(-1)?.result
  out.counts = await again.counts()
  out.journal = await store.transaction((tx) => tx.query('PRAGMA journal_mode')[0])
  const t0 = performance.now()
  for (let i = 0; i < 200; i++) await again.dispatch(job('a', { i }))
  out.dispatchPerSec = Math.round((200 / (performance.now() - t0)) * 1000)
  await again.close()
  await unlink(path)
  return out
}

self.onmessage = async (e: MessageEvent<Request>) => {
  const req = e.data
  try {
    let result: unknown
    if (req.kind === 'scenario') result = await scenario(req.path)
    else if (req.kind === 'open') {
      const store = sqliteStore({ path: req.path })
      await store.open()
      stores.set(req.path, store)
    } else {
      const store = stores.get(req.store)
      if (!store) throw new Error(`no store ${req.store}`)
      const method = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[req.method]
      if (!method) throw new Error(`no method ${req.method}`)
      result = await method(...req.args)
      // The closed store stays in the map: later calls must reject with QueueClosedError.
      if (req.method === 'close') await unlink(req.store)
    }
    self.postMessage({ id: req.id, ok: true, result })
  } catch (err) {
    self.postMessage({ id: req.id, ok: false, error: serializeError(err) })
  }
}
self.postMessage({ ready: true })
