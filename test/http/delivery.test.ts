/**
 * What the handler does with answers a plain test server would not give: redirects, bodies cut
 * off, stalled or too deep to store, charsets, 304, and what `prepare` may hand it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/index.js'
import { request, type HttpResult, type RequestSpec } from '../../src/http/index.js'
import { finished, outbox } from './outbox.cases.js'

type Seen = { method: string; path: string; headers: IncomingMessage['headers']; raw: Buffer }
const seen: Seen[] = []
let base = ''
let close: () => Promise<void> = async () => undefined

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/target': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('arrived')
  },
  '/deep': (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json' })
    res.end('['.repeat(3000) + ']'.repeat(3000))
  },
  '/badjson': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"a":')
  },
  '/cut': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' })
    res.write('{"id":')
    setTimeout(() => res.socket?.destroy(), 50)
  },
  '/stall': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('partial')
  },
  '/latin1': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' })
    res.end(Buffer.from('héllo', 'latin1'))
  },
  '/304': (_req, res) => {
    res.writeHead(304, { etag: '"v1"' })
    res.end()
  },
}

beforeAll(async () => {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x')
      seen.push({ method: req.method ?? '', path: u.pathname, headers: req.headers, raw: Buffer.concat(chunks) })
      const redirect = /^\/redirect\/(\d+)$/.exec(u.pathname)
      if (redirect) {
        res.writeHead(Number(redirect[1]), { location: '/target' })
        return res.end()
      }
      const route = routes[u.pathname]
      if (route) return route(req, res)
      res.writeHead(200)
      res.end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
})
afterAll(() => close())

const sent = (path: string): Seen[] => seen.filter((s) => s.path === path)

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('fails a POST answered %i without sending it anywhere else, saying where it pointed', async (status) => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const before = sent('/target').length
    const { id } = await queue.dispatch(request({ url: `${base}/redirect/${status}`, method: 'POST', body: { n: 1 } }).retry(3))
    const done = await finished(queue, id)
    expect(done).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError', data: { status, location: '/target' } } })
    expect(done.error?.message).toMatch(/redirect/)
    expect(sent('/target').length).toBe(before)
    await queue.close()
  })

  it.each(['PUT', 'PATCH', 'DELETE'])('fails a %s answered 302', async (method) => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/redirect/302`, method, body: 'x' }))
    expect(await finished(queue, id)).toMatchObject({ state: 'failed', error: { name: 'UnrecoverableError', data: { status: 302 } } })
    await queue.close()
  })

  it('follows a redirect for a GET and says so in the result', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/redirect/302` }))
    expect((await finished(queue, id)).result).toEqual({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'arrived', redirected: true, url: `${base}/target` })
    await queue.close()
  })
})

describe('a delivered answer never fails the job', () => {
  it('keeps a JSON body too deep to store as text, flagged', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/deep`, method: 'POST', body: {} }).retry(3))
    const done = await finished(queue, id)
    expect(done).toMatchObject({ state: 'succeeded', attempt: 1, result: { status: 201, unparsed: true } })
    expect((done.result as HttpResult).body).toBe('['.repeat(3000) + ']'.repeat(3000))
    await queue.close()
  })

  it('keeps invalid JSON as text, flagged', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/badjson` }))
    expect((await finished(queue, id)).result).toEqual({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":', unparsed: true })
    await queue.close()
  })

  it('keeps the status of a 2xx whose body was cut off, and does not send it again', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/cut`, method: 'POST', body: { a: 1 } }).retry(3))
    const done = await finished(queue, id)
    expect(done).toMatchObject({ state: 'succeeded', attempt: 1, result: { status: 200, body: '{"id":', truncated: true } })
    expect(sent('/cut')).toHaveLength(1)
    await queue.close()
  })

  it('ends an attempt whose body stalls at the job timeout', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/stall` }).timeout(300).retry(0))
    expect(await finished(queue, id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } })
    await queue.close()
  })

  it('accepts a 304 to a conditional GET', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/304`, headers: { 'if-none-match': '"v1"' } }))
    expect(await finished(queue, id)).toMatchObject({ state: 'succeeded', result: { status: 304, headers: { etag: '"v1"' } } })
    await queue.close()
  })

  it('decodes a text body in the charset its content-type names', async () => {
    const { queue } = outbox(memoryStore())
    await queue.start()
    const { id } = await queue.dispatch(request({ url: `${base}/latin1` }))
    expect((await finished(queue, id)).result).toMatchObject({ body: 'héllo' })
    await queue.close()
  })
})

describe('what prepare returns is checked again at send time', () => {
  it.each<[string, (spec: RequestSpec) => RequestSpec]>([
    ['a stream body', (spec) => ({ ...spec, body: new Blob(['real bytes']).stream() })],
    ['a url that is not http', (spec) => ({ ...spec, url: 'file:///etc/passwd' })],
    ['a url with credentials', (spec) => ({ ...spec, url: spec.url.replace('http://', 'http://user:pw@') })],
    ['a NaN body', (spec) => ({ ...spec, body: NaN })],
    ['a Map body', (spec) => ({ ...spec, body: new Map([['a', 1]]) })],
  ])('fails %s without sending it', async (_what, change) => {
    const { queue } = outbox(memoryStore(), { prepare: change })
    await queue.start()
    const before = sent('/prepared').length
    const { id } = await queue.dispatch(request({ url: `${base}/prepared`, method: 'POST', body: 'x' }).retry(3))
    expect(await finished(queue, id)).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError' } })
    expect(sent('/prepared').length).toBe(before)
    await queue.close()
  })
})
