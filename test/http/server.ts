/**
 * A small HTTP server on 127.0.0.1 for the outbox tests, in Node and (started by the browser
 * project's global setup) for Chromium. It answers CORS preflights, so a page of another origin
 * may send `Idempotency-Key` and `Authorization` and read the headers the results keep.
 *
 * Each test uses a namespace of its own, the first segment of the path:
 * - `POST /<ns>/items` creates an item (201, `{ id }`, `Location`); the same `Idempotency-Key`
 *   gets the same item, as a real idempotent server answers a retried request.
 * - `PUT /<ns>/items/<id>` updates an item that exists (200, the item), else 404.
 * - `* /<ns>/echo` answers with what it received.
 * - `GET /<ns>/big?n=<bytes>` answers with `n` bytes of text.
 * - `* /<ns>/redirect?status=<3xx>` redirects to `/<ns>/echo`.
 * - any other path answers from the namespace's script (`POST /_script/<ns>` with a list of
 *   `{ status, headers?, body? }`; the last one repeats), or 200 `{}` without one.
 * - `GET /_log/<ns>` lists the requests of the namespace: method, path, the headers the tests
 *   look at, the body as text and as base64, and the time it arrived.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface LoggedRequest {
  method: string
  path: string
  headers: { 'idempotency-key'?: string; authorization?: string; 'content-type'?: string; 'x-trace'?: string }
  text: string
  base64: string
  at: number
}

export interface ScriptedResponse {
  status: number
  headers?: Record<string, string>
  body?: string
}

export interface TestServer {
  url: string
  close(): Promise<void>
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
  'access-control-allow-headers': 'Idempotency-Key, Authorization, Content-Type, X-Trace',
  'access-control-expose-headers': 'Location, ETag, Retry-After, X-Request-Id',
  'access-control-max-age': '600',
}

export async function startTestServer(): Promise<TestServer> {
  const logs = new Map<string, LoggedRequest[]>()
  const scripts = new Map<string, ScriptedResponse[]>()
  const items = new Map<string, Record<string, unknown>>() // `${ns}/${id}` -> item
  const created = new Map<string, string>() // `${ns}/${idempotency key}` -> id
  let nextId = 1

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => send(res, 500, { 'content-type': 'text/plain' }, String(err)))
  })

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') return send(res, 204, {}, '')
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const [first = '', ns = '', ...rest] = url.pathname.split('/').slice(1)
    const raw = await bodyOf(req)
    if (first === '_log') return json(res, 200, logs.get(ns) ?? [])
    if (first === '_script') {
      scripts.set(ns, JSON.parse(raw.toString('utf8')) as ScriptedResponse[])
      logs.delete(ns)
      return send(res, 204, {}, '')
    }
    const space = first
    const route = [ns, ...rest]
    const h = req.headers
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers: {},
      text: raw.toString('utf8'),
      base64: raw.toString('base64'),
      at: Date.now(),
    }
    for (const name of ['idempotency-key', 'authorization', 'content-type', 'x-trace'] as const) {
      const v = h[name]
      if (typeof v === 'string') entry.headers[name] = v
    }
    logs.set(space, [...(logs.get(space) ?? []), entry])

    if (route[0] === 'items' && route.length === 1 && req.method === 'POST') {
      const key = `${space}/${String(h['idempotency-key'])}`
      let id = created.get(key)
      if (id === undefined) {
        id = `item-${nextId++}`
        created.set(key, id)
        items.set(`${space}/${id}`, { id, ...(JSON.parse(entry.text || '{}') as object) })
      }
      return json(res, 201, items.get(`${space}/${id}`), { location: `/${space}/items/${id}`, etag: `"${id}-1"` })
    }
    if (route[0] === 'items' && route.length === 2 && req.method === 'PUT') {
      const at = `${space}/${route[1]}`
      const item = items.get(at)
      if (!item) return json(res, 404, { error: `no item ${route[1]}` })
      const updated = { ...item, ...(JSON.parse(entry.text || '{}') as object), id: item['id'] }
      items.set(at, updated)
      return json(res, 200, updated)
    }
    if (route[0] === 'echo') {
      return json(res, 200, { method: entry.method, headers: entry.headers, text: entry.text, base64: entry.base64 })
    }
    if (route[0] === 'redirect') {
      return send(res, Number(url.searchParams.get('status') ?? '302'), { location: `/${space}/echo` }, '')
    }
    if (route[0] === 'big') {
      const n = Number(url.searchParams.get('n') ?? '0')
      return send(res, 200, { 'content-type': url.searchParams.get('type') ?? 'text/plain; charset=utf-8' }, 'x'.repeat(n))
    }
    const script = scripts.get(space)
    if (!script || script.length === 0) return json(res, 200, {})
    const next = script.length > 1 ? script.shift() : script[0]
    const r = next ?? { status: 200 }
    return send(res, r.status, r.headers ?? {}, r.body ?? '')
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function bodyOf(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value))
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...CORS, ...headers })
  res.end(body)
}
