import { describe, expect, inject, it } from 'vitest'
import { memoryStore, type Store } from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.browser.js'
import { log, outboxCases, script, space, url } from '../http/outbox.cases.js'

// The server runs in Node (fixtures/http-server.setup.ts); this page is of another origin, so
// every request here goes through CORS as an app's requests to its API would.
const server = inject('httpServer')

const stores: [string, () => Store][] = [
  ['memory', () => memoryStore()],
  ['SQLite (in memory)', () => sqliteStore()],
  ['IndexedDB', () => idbStore({ name: `http-${space()}` })],
]

describe('in Chromium', () => {
  it('runs in a real page, against a server of another origin', () => {
    expect(typeof window).toBe('object')
    expect(new URL(server).origin).not.toBe(location.origin)
  })
})

outboxCases(() => server, stores)

describe('the HTTP outbox in a dedicated Worker', () => {
  it('sends from a worker on IndexedDB, retrying a 503 with the same Idempotency-Key', async () => {
    const ns = space()
    await script(ns, [{ status: 503 }, { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"n1"}' }])
    const worker = new Worker(new URL('./fixtures/http-outbox.worker.ts', import.meta.url), { type: 'module' })
    try {
      const reply = new Promise<{ id: string; state: string; attempt: number; result: unknown } | { error: string }>((resolve) => {
        worker.onmessage = (e: MessageEvent<{ id: string; state: string; attempt: number; result: unknown } | { error: string }>) => resolve(e.data)
      })
      worker.postMessage({ url: url(ns, 'notes'), db: `http-worker-${ns}` })
      const done = await reply
      if ('error' in done) throw new Error(done.error)
      expect(done).toMatchObject({ state: 'succeeded', attempt: 2, result: { status: 201, body: { id: 'n1' } } })
      expect((await log(ns)).map((r) => r.headers['idempotency-key'])).toEqual([done.id, done.id])
    } finally {
      worker.terminate()
    }
  }, 20_000)
})
