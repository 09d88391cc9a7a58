import 'fake-indexeddb/auto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { memoryStore, type Queue, type Store, job } from '../../src/index.js'
import { request } from '../../src/http/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { finished, log, outbox, outboxCases, script, space, url } from './outbox.cases.js'
import { startTestServer, type TestServer } from './server.js'

let server: TestServer
let dir: string
beforeAll(async () => {
  server = await startTestServer()
  dir = mkdtempSync(join(tmpdir(), 'ferry-http-'))
})
afterAll(async () => {
  await server.close()
  rmSync(dir, { recursive: true, force: true })
})

const stores: [string, () => Store][] = [
  ['memory', () => memoryStore()],
  ['SQLite', () => sqliteStore()],
  ['IndexedDB', () => idbStore({ name: `http-${space()}` })],
]

outboxCases(() => server.url, stores)

describe('the HTTP outbox across a restart', () => {
  it('sends the same Idempotency-Key after the process that tried first is gone', async () => {
    const ns = space()
    await script(ns, [{ status: 503 }, { status: 200 }])
    const path = join(dir, 'outbox.db')
    const first = outbox(sqliteStore({ path }))
    await first.queue.start()
    const { id } = await first.queue.dispatch(request({ url: url(ns, 'notes'), body: { n: 1 } }).backoff(300))
    await vi.waitFor(() => expect(first.events.some((e) => e.kind === 'job:retrying')).toBe(true), { timeout: 10_000 })
    await first.queue.close()

    const second = outbox(sqliteStore({ path }))
    expect(await second.queue.getJob(id)).toMatchObject({ state: 'delayed', attempt: 1 })
    await second.queue.start()
    expect(await finished(second.queue, id)).toMatchObject({ state: 'succeeded', attempt: 2 })
    const seen = await log(ns)
    expect(seen.map((r) => r.headers['idempotency-key'])).toEqual([id, id])
    await second.queue.close()
  })
})

describe('the HTTP handler', () => {
  it('keeps status, selected headers and a capped body, flagging a cut', async () => {
    const ns = space()
    const { queue } = outbox(memoryStore(), { maxBodyBytes: 100, resultHeaders: ['Access-Control-Max-Age'] })
    await queue.start()
    const big = await queue.dispatch(request({ url: `${url(ns, 'big')}?n=250` }))
    const small = await queue.dispatch(request({ url: `${url(ns, 'big')}?n=10` }))
    const binary = await queue.dispatch(request({ url: `${url(ns, 'big')}?n=10&type=image/png` }))
    expect((await finished(queue, big.id)).result).toEqual({
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'access-control-max-age': '600' },
      body: 'x'.repeat(100),
      truncated: true,
    })
    expect((await finished(queue, small.id)).result).toMatchObject({ body: 'x'.repeat(10) })
    expect((await finished(queue, binary.id)).result).toEqual({ status: 200, headers: { 'content-type': 'image/png', 'access-control-max-age': '600' } })
    await queue.close()
  })

  it('honours Retry-After only maxDeferrals times in a row, then spends attempts', async () => {
    const ns = space()
    await script(ns, [{ status: 503, headers: { 'retry-after': '0' } }])
    const { queue, events } = outbox(memoryStore(), { maxDeferrals: 2 })
    await queue.start()
    const { id } = await queue.dispatch(request({ url: url(ns, 'x') }).retry(1).backoff(0))
    expect(await finished(queue, id)).toMatchObject({ state: 'failed', attempt: 2, error: { code: 'HTTP_STATUS', data: { status: 503 } } })
    expect(events.filter((e) => e.kind === 'job:deferred')).toHaveLength(2)
    expect(await log(ns)).toHaveLength(4)
    await queue.close()
  })

  it('past maxDeferrals, still waits as long as Retry-After asks before the next attempt', async () => {
    const ns = space()
    await script(ns, [{ status: 503, headers: { 'retry-after': '1' } }, { status: 200 }])
    const { queue, events } = outbox(memoryStore(), { maxDeferrals: 0 })
    await queue.start()
    const { id } = await queue.dispatch(request({ url: url(ns, 'x') }).retry(1).backoff(0))
    expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 2 })
    const [first, second] = await log(ns)
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(900)
    expect(events.map((e) => e.kind).filter((k) => k === 'job:retrying' || k === 'job:deferred')).toEqual(['job:retrying', 'job:deferred'])
    await queue.close()
  })

  it('honours an HTTP-date Retry-After, and caps a long one at maxRetryAfterMs', async () => {
    const ns = space()
    const later = new Date(Date.now() + 3_600_000).toUTCString()
    await script(ns, [{ status: 429, headers: { 'retry-after': later } }, { status: 200 }])
    const { queue, events } = outbox(memoryStore(), { maxRetryAfterMs: 50 })
    await queue.start()
    const { id } = await queue.dispatch(request({ url: url(ns, 'x') }))
    expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    const deferred = events.find((e) => e.kind === 'job:deferred')
    expect(deferred?.kind === 'job:deferred' && deferred.runAt - deferred.at).toBeLessThanOrEqual(50)
    await queue.close()
  })

  it('treats a network error as a failed attempt, and passes the attempt’s signal to fetch', async () => {
    const signals: AbortSignal[] = []
    const { queue, events } = outbox(memoryStore(), {
      fetch: (input, init) => {
        if (init?.signal) signals.push(init.signal)
        return signals.length === 1 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init)
      },
    })
    await queue.start()
    const ns = space()
    const { id } = await queue.dispatch(request({ url: url(ns, 'x') }))
    expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 2 })
    expect(events.find((e) => e.kind === 'job:retrying')).toMatchObject({ error: { name: 'TypeError', message: 'fetch failed' } })
    expect(signals).toHaveLength(2)
    await queue.close()
  })

  it('aborts the request when the attempt times out', async () => {
    let aborted: unknown
    const { queue } = outbox(memoryStore(), {
      fetch: (_input, init) =>
        new Promise((_resolve, reject) => {
          init?.signal?.addEventListener('abort', () => {
            aborted = init.signal?.reason
            reject(new DOMException('aborted', 'AbortError'))
          })
        }),
    })
    await queue.start()
    const { id } = await queue.dispatch(request({ url: url(space(), 'x') }).timeout(100).retry(0))
    expect(await finished(queue, id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } })
    await vi.waitFor(() => expect(aborted).toBeDefined())
    await queue.close()
  })

  it('uses a custom classification, and Retry-After with it', async () => {
    const ns = space()
    await script(ns, [{ status: 409, headers: { 'retry-after': '0' } }, { status: 418 }])
    const { queue, events } = outbox(memoryStore(), { classify: (res) => (res.status === 409 ? 'retry' : res.status === 418 ? 'ok' : 'fail') })
    await queue.start()
    const { id } = await queue.dispatch(request({ url: url(ns, 'x') }))
    expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 1, result: { status: 418 } })
    expect(events.filter((e) => e.kind === 'job:deferred')).toHaveLength(1)
    await queue.close()
  })

  it('fails a job whose payload cannot make a request, without sending anything', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const bad = await (queue as unknown as Queue).dispatch(job('http', { method: 'GET' }).retry(3))
    expect(await finished(queue, bad.id)).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError' } })
    await queue.close()
  })
})
