/**
 * The outbox's scenarios against the test server (see server.ts), run by the Node tests and by
 * the Chromium tests, on every store each runtime has.
 */
import { describe, expect, it, vi } from 'vitest'
import { createQueue, type JobRecord, type Queue, type QueueEvent, type QueueOptions, type Store } from '../../src/index.js'
import { httpHandler, request, type HttpHandlerOptions, type HttpJobs, type HttpResult } from '../../src/http/index.js'
import { manualConnectivity } from '../../src/testing/index.js'
import type { LoggedRequest, ScriptedResponse } from './server.js'

let serverUrl: () => string = () => {
  throw new Error('outboxCases() sets the server')
}

let n = 0
/** A namespace of the test server of its own for each test. */
export const space = (): string => `ns${++n}-${Date.now()}`
export const url = (ns: string, path: string): string => `${serverUrl()}/${ns}/${path}`

export async function script(ns: string, responses: ScriptedResponse[]): Promise<void> {
  await fetch(`${serverUrl()}/_script/${ns}`, { method: 'POST', body: JSON.stringify(responses) })
}
export async function log(ns: string): Promise<LoggedRequest[]> {
  return (await (await fetch(`${serverUrl()}/_log/${ns}`)).json()) as LoggedRequest[]
}

export function outbox(store: Store, o: HttpHandlerOptions = {}, q: QueueOptions = {}): { queue: Queue<HttpJobs>; events: QueueEvent[] } {
  const queue = createQueue<HttpJobs>({ store, defaults: { backoff: 20 }, ...q })
  const events: QueueEvent[] = []
  queue.events.subscribe((e) => events.push(e))
  queue.register('http', httpHandler(o), { network: 'online' })
  return { queue, events }
}

/** The job once it has finished, polled on the real clock. */
export async function finished(queue: Queue<HttpJobs>, id: string, timeout = 15_000): Promise<JobRecord> {
  return vi.waitFor(
    async () => {
      const j = await queue.getJob(id)
      if (!j || !['succeeded', 'failed', 'cancelled'].includes(j.state)) throw new Error(`job ${id} is ${j?.state}`)
      return j
    },
    { timeout, interval: 20 },
  )
}

/** Runs every scenario on each store, against the test server at `server()`. */
export function outboxCases(server: () => string, stores: [string, () => Store][]): void {
  serverUrl = server
  describe.each(stores)('the HTTP outbox on the %s store', (_name, makeStore) => {
    it('sends the job id as Idempotency-Key on every attempt, the same across retries', async () => {
      const ns = space()
      await script(ns, [{ status: 503 }, { status: 502 }, { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' }])
      const { queue } = outbox(makeStore())
      await queue.start()
      const { id } = await queue.dispatch(request({ url: url(ns, 'notes'), method: 'POST', body: { text: 'hi' } }))
      const done = await finished(queue, id)
      expect(done).toMatchObject({ state: 'succeeded', attempt: 3, result: { status: 200, body: { ok: true } } })
      const seen = await log(ns)
      expect(seen.map((r) => r.headers['idempotency-key'])).toEqual([id, id, id])
      expect(seen.map((r) => [r.method, r.text, r.headers['content-type']])).toEqual(Array(3).fill(['POST', '{"text":"hi"}', 'application/json']))
      await queue.close()
    })

    it('waits about 2 s for a 429 with Retry-After: 2 and spends no attempt on it', async () => {
      const ns = space()
      await script(ns, [{ status: 429, headers: { 'retry-after': '2' } }, { status: 204 }])
      const { queue, events } = outbox(makeStore())
      await queue.start()
      const { id } = await queue.dispatch(request({ url: url(ns, 'notes'), method: 'PUT', body: 'x' }).retry(0))
      const done = await finished(queue, id)
      expect(done).toMatchObject({ state: 'succeeded', attempt: 1, maxAttempts: 1, result: { status: 204 } })
      const [first, second] = await log(ns)
      const waited = (second?.at ?? 0) - (first?.at ?? 0)
      expect(waited).toBeGreaterThanOrEqual(1_900)
      expect(waited).toBeLessThan(8_000)
      expect(events.filter((e) => e.kind === 'job:deferred' && e.jobId === id)).toHaveLength(1)
      expect(events.some((e) => e.kind === 'job:retrying')).toBe(false)
      await queue.close()
    })

    it('retries a 503 with backoff, spending an attempt', async () => {
      const ns = space()
      await script(ns, [{ status: 503, body: 'busy' }, { status: 200, headers: { 'content-type': 'text/plain' }, body: 'fine' }])
      const { queue, events } = outbox(makeStore())
      await queue.start()
      const { id } = await queue.dispatch(request({ url: url(ns, 'ping') }))
      expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 2, result: { status: 200, body: 'fine' } })
      const retry = events.find((e) => e.kind === 'job:retrying')
      expect(retry).toMatchObject({ jobId: id, attempt: 1, error: { code: 'HTTP_STATUS', data: { status: 503, body: 'busy' } } })
      await queue.close()
    })

    it('fails a 400 at once, with the status and the start of the body in the error', async () => {
      const ns = space()
      await script(ns, [{ status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":"title is required"}' }])
      const { queue } = outbox(makeStore())
      await queue.start()
      const { id } = await queue.dispatch(request({ url: url(ns, 'notes?token=secret'), body: {} }).retry(5))
      const done = await finished(queue, id)
      expect(done).toMatchObject({
        state: 'failed',
        attempt: 1,
        error: { name: 'UnrecoverableError', data: { status: 400, body: '{"error":"title is required"}' } },
      })
      expect(done.error?.message).toBe(`POST ${serverUrl()}/${ns}/notes answered 400 Bad Request`)
      expect(await log(ns)).toHaveLength(1)
      await queue.close()
    })

    it('computes headers at send time: a token refreshed between attempts is the one sent', async () => {
      const ns = space()
      await script(ns, [{ status: 503 }, { status: 200 }])
      let token = 'expired-token'
      const { queue, events } = outbox(makeStore(), { headers: () => ({ Authorization: `Bearer ${token}` }) })
      queue.events.subscribe((e) => {
        if (e.kind === 'job:retrying') token = 'fresh-token'
      })
      await queue.start()
      const { id } = await queue.dispatch(request({ url: url(ns, 'me'), headers: { Authorization: 'Bearer stale-at-dispatch', 'X-Trace': 't1' } }))
      expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', attempt: 2 })
      expect((await log(ns)).map((r) => [r.headers.authorization, r.headers['x-trace']])).toEqual([
        ['Bearer expired-token', 't1'],
        ['Bearer fresh-token', 't1'],
      ])
      expect(events.filter((e) => e.kind === 'job:retrying')).toHaveLength(1)
      await queue.close()
    })

    it('runs a chain POST then PUT with the created id, made offline and delivered with a fresh token when the network returns', async () => {
      const ns = space()
      const net = manualConnectivity(false)
      let token = 'token-of-dispatch-time'
      const { queue } = outbox(
        makeStore(),
        {
          headers: () => ({ Authorization: `Bearer ${token}` }),
          prepare: (spec, ctx) => {
            const created = ctx.previousResult as HttpResult | undefined
            const id = (created?.body as { id?: string } | undefined)?.id
            return id === undefined ? spec : { ...spec, url: spec.url.replace(':id', id) }
          },
        },
        { connectivity: net },
      )
      await queue.start()
      const chainId = await queue
        .chain(
          request({ url: url(ns, 'items'), method: 'POST', body: { title: 'draft' } }),
          request({ url: url(ns, 'items/:id'), method: 'PUT', body: { title: 'final' } }),
        )
        .dispatch()
      await new Promise((r) => setTimeout(r, 300))
      expect(await log(ns)).toEqual([])
      expect(await queue.findChain(chainId)).toMatchObject({ state: 'running', current: 0 })

      token = 'token-refreshed-while-offline'
      net.set(true)
      const chain = await vi.waitFor(
        async () => {
          const c = await queue.findChain(chainId)
          if (c.state === 'running') throw new Error('still running')
          return c
        },
        { timeout: 15_000, interval: 20 },
      )
      expect(chain.state).toBe('succeeded')
      const [post, put] = await Promise.all(chain.steps.map((s) => queue.getJob(s.jobId)))
      const created = post?.result as HttpResult
      expect(created).toMatchObject({ status: 201, headers: { 'content-type': 'application/json', etag: expect.any(String) as string }, body: { title: 'draft' } })
      const itemId = (created.body as { id: string }).id
      expect(created.headers['location']).toBe(`/${ns}/items/${itemId}`)
      expect(put?.result).toMatchObject({ status: 200, body: { id: itemId, title: 'final' } })
      expect((await log(ns)).map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual([
        `POST /${ns}/items Bearer token-refreshed-while-offline`,
        `PUT /${ns}/items/${itemId} Bearer token-refreshed-while-offline`,
      ])
      await queue.close()
    })

    it('keeps a Blob body as bytes with its type, and sends them as they were', async () => {
      const ns = space()
      const bytes = new Uint8Array([0, 1, 2, 250, 255, 128])
      const { queue } = outbox(makeStore())
      const { id } = await queue.dispatch(request({ url: url(ns, 'echo'), method: 'PUT', body: new Blob([bytes], { type: 'image/png' }) }))
      expect((await queue.getJob(id))?.payload).toEqual({ url: url(ns, 'echo'), method: 'PUT', bytes: { base64: 'AAEC+v+A', type: 'image/png' } })
      await queue.start()
      await finished(queue, id)
      const [seen] = await log(ns)
      expect(seen).toMatchObject({ method: 'PUT', base64: 'AAEC+v+A', headers: { 'content-type': 'image/png' } })
      await queue.close()
    })

    it('fails a POST answered with a redirect without following it, and follows one for a GET', async () => {
      const ns = space()
      const { queue } = outbox(makeStore())
      await queue.start()
      const post = await queue.dispatch(request({ url: url(ns, 'redirect?status=302'), method: 'POST', body: { a: 1 } }).retry(3))
      const get = await queue.dispatch(request({ url: url(ns, 'redirect?status=302') }))
      expect(await finished(queue, post.id)).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError' } })
      expect((await finished(queue, post.id)).error?.message).toMatch(/redirect/)
      const followed = await finished(queue, get.id)
      expect(followed).toMatchObject({ state: 'succeeded', result: { status: 200, redirected: true, url: url(ns, 'echo'), body: { method: 'GET' } } })
      expect((await log(ns)).map((r) => `${r.method} ${r.path}`).sort()).toEqual([`GET /${ns}/echo`, `GET /${ns}/redirect?status=302`, `POST /${ns}/redirect?status=302`])
      await queue.close()
    })

    it('reads a Request once at dispatch, leaving the caller’s unread', async () => {
      const ns = space()
      const req = new Request(url(ns, 'echo'), { method: 'PATCH', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json', 'x-trace': 'r1' } })
      const spec = request(req)
      const { queue } = outbox(makeStore())
      const first = await queue.dispatch(spec)
      const second = await queue.dispatch(spec)
      expect(req.bodyUsed).toBe(false)
      expect((await queue.getJob(first.id))?.payload).toEqual({
        url: url(ns, 'echo'),
        method: 'PATCH',
        headers: { 'content-type': 'application/json', 'x-trace': 'r1' },
        body: '{"a":1}',
      })
      await queue.start()
      await finished(queue, first.id)
      await finished(queue, second.id)
      const seen = await log(ns)
      expect(seen.map((r) => [r.method, r.text, r.headers['content-type'], r.headers['x-trace']])).toEqual(Array(2).fill(['PATCH', '{"a":1}', 'application/json', 'r1']))
      expect(seen.map((r) => r.headers['idempotency-key']).sort()).toEqual([first.id, second.id].sort())
      await queue.close()
    })
  })
}
