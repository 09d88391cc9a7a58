import { describe, expect, expectTypeOf, it, vi } from 'vitest'
import { fromBase64, toBase64 } from '../../src/http/bytes.js'
import { InvalidArgumentError, createQueue, type Handler, type JobSpec, type Queue } from '../../src/index.js'
import { classifyStatus, httpHandler, request, retryAfterMs, type HttpJobs, type RequestSpec } from '../../src/http/index.js'

const api = 'https://api.example.com'

/** The payload a spec stores, once dispatched (its payload made at dispatch, if it has one). */
async function stored(spec: JobSpec<'http', RequestSpec>): Promise<unknown> {
  const queue = createQueue<HttpJobs>()
  const { id } = await queue.dispatch(spec)
  const payload = (await queue.getJob(id))?.payload
  await queue.close()
  return payload
}

describe('request()', () => {
  it('is typed as a job of type http that a queue with HttpJobs in its job map takes', () => {
    expectTypeOf(request({ url: api })).toEqualTypeOf<JobSpec<'http', RequestSpec>>()
    expectTypeOf(httpHandler()).toEqualTypeOf<Handler<RequestSpec>>()
    expectTypeOf<Queue<{ 'email:send': { to: string } } & HttpJobs>['dispatch']>().toBeCallableWith(request({ url: api }))
    // Never called: only its types are checked.
    const untyped = (q: Queue<{ 'email:send': { to: string } }>): unknown =>
      // @ts-expect-error: a queue without http jobs in its job map refuses request specs
      q.dispatch(request({ url: api }))
    expect(untyped).toBeTypeOf('function')
  })

  it('makes a job of type http with the url, the method and the headers', () => {
    const spec = request({ url: `${api}/notes`, method: 'patch', headers: { Authorization: 'Bearer t' }, body: { a: 1 } })
    expect(spec.type).toBe('http')
    expect(spec.payload).toEqual({ url: `${api}/notes`, method: 'PATCH', headers: { Authorization: 'Bearer t' }, body: { a: 1 }, json: true })
  })

  it('defaults the method to POST with a body and to GET without', () => {
    expect(request({ url: api, body: 'x' }).payload.method).toBe('POST')
    expect(request({ url: api }).payload.method).toBe('GET')
  })

  it('keeps the JSON that will be sent, so every store holds the same body', async () => {
    const at = new Date(0)
    expect(request({ url: api, body: { at, skip: undefined, list: [1, undefined] } }).payload.body).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [1, null] })
    expect(request({ url: api, body: 'text' }).payload).toEqual({ url: `${api}/`, method: 'POST', body: 'text' })
    expect(request({ url: api, body: 'text', json: true }).payload).toEqual({ url: `${api}/`, method: 'POST', body: 'text', json: true })
    expect(await stored(request({ url: api, body: [1, 2] }))).toEqual({ url: `${api}/`, method: 'POST', body: [1, 2], json: true })
  })

  it('keeps ArrayBuffers, typed arrays, Blobs, FormData and URLSearchParams as bytes with their type', async () => {
    const buffer = new Uint8Array([104, 105]).buffer
    const spec = request({ url: api, method: 'PUT', body: buffer })
    new Uint8Array(buffer)[0] = 0 // changed after the spec was made: the spec kept a copy
    expect(await stored(spec)).toEqual({ url: `${api}/`, method: 'PUT', bytes: { base64: 'aGk=', type: '' } })
    expect(await stored(request({ url: api, body: new Uint8Array([1, 2, 3]).subarray(1) }))).toMatchObject({ bytes: { base64: 'AgM=', type: '' } })
    expect(await stored(request({ url: api, body: new Blob(['hi'], { type: 'text/plain' }) }))).toMatchObject({ bytes: { base64: 'aGk=', type: 'text/plain' } })
    expect(await stored(request({ url: api, body: new URLSearchParams({ q: 'a b' }) }))).toMatchObject({
      bytes: { base64: btoa('q=a+b'), type: 'application/x-www-form-urlencoded;charset=UTF-8' },
    })
    const form = new FormData()
    form.set('name', 'ana')
    const multipart = (await stored(request({ url: api, body: form }))) as RequestSpec
    expect(multipart.bytes?.type).toMatch(/^multipart\/form-data; boundary=/)
    expect(atob(multipart.bytes?.base64 ?? '')).toContain('name="name"')
  })

  it('takes a Headers object as the headers', () => {
    expect(request({ url: api, headers: new Headers({ Authorization: 'Bearer t', 'content-type': 'text/csv' }), body: 'a,b' }).payload).toEqual({
      url: `${api}/`,
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'text/csv' },
      body: 'a,b',
    })
  })

  it('keeps a SharedArrayBuffer as bytes, and plain data and Dates as JSON', async () => {
    const shared = new SharedArrayBuffer(2)
    new Uint8Array(shared).set([104, 105])
    expect(await stored(request({ url: api, body: shared }))).toMatchObject({ bytes: { base64: 'aGk=', type: '' } })
    expect(request({ url: api, body: { a: null, n: 0, d: new Date(0), o: Object.create(null) as object } }).payload.body).toEqual({ a: null, n: 0, d: '1970-01-01T00:00:00.000Z', o: {} })
  })

  it('keeps the byte order mark of a Request’s text body', async () => {
    const bom = new Request(`${api}/a`, { method: 'POST', body: new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]), headers: { 'content-type': 'text/plain' } })
    expect(await stored(request(bom))).toMatchObject({ body: '\ufeffhi' })
  })

  it('reads a Request at each dispatch, keeps text bodies as text and others as bytes', async () => {
    const text = new Request(`${api}/a`, { method: 'POST', body: 'héllo', headers: { 'content-type': 'text/plain' } })
    const spec = request(text)
    expect(spec.payload).toEqual({ url: `${api}/a`, method: 'POST', headers: { 'content-type': 'text/plain' } })
    expect(await stored(spec)).toEqual({ url: `${api}/a`, method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'héllo' })
    expect(await stored(spec)).toMatchObject({ body: 'héllo' })
    expect(text.bodyUsed).toBe(false)
    const binary = new Request(`${api}/b`, { method: 'PUT', body: new Uint8Array([255, 0]), headers: { 'content-type': 'application/octet-stream' } })
    expect(await stored(request(binary))).toMatchObject({ bytes: { base64: '/wA=', type: 'application/octet-stream' } })
    expect(await stored(request(new Request(`${api}/c`)))).toEqual({ url: `${api}/c`, method: 'GET' })
  })

  it.each<[string, () => unknown]>([
    ['no spec', () => request(undefined as unknown as RequestSpec)],
    ['no url', () => request({} as RequestSpec)],
    ['an empty url', () => request({ url: '' })],
    ['a relative url with nothing to resolve it against', () => request({ url: '/notes' })],
    ['a url that is not http', () => request({ url: 'file:///etc/passwd' })],
    ['a method that is not a token', () => request({ url: api, method: 'GE T' })],
    ['a method fetch cannot send', () => request({ url: api, method: 'trace' })],
    ['a GET with a body', () => request({ url: api, method: 'GET', body: { a: 1 } })],
    ['a header that is not a string', () => request({ url: api, headers: { n: 1 as unknown as string } })],
    ['a header name that is not a token', () => request({ url: api, headers: { 'a b': 'x' } })],
    ['an Idempotency-Key header', () => request({ url: api, headers: { 'idempotency-key': 'k' } })],
    ['a cycle in a JSON body', () => request({ url: api, body: ((o: Record<string, unknown>) => ((o['self'] = o), o))({}) })],
    ['a BigInt body', () => request({ url: api, body: 1n })],
    ['a function body', () => request({ url: api, body: () => 1 })],
    ['a stream body', () => request({ url: api, body: new Blob(['x']).stream() })],
    ['json: false with an object body', () => request({ url: api, body: { a: 1 }, json: false })],
    ['json: true with a binary body', () => request({ url: api, body: new Uint8Array(1), json: true })],
    ['bytes that are not base64', () => request({ url: api, bytes: { base64: '%%%', type: '' } })],
    ['both body and bytes', () => request({ url: api, body: 'x', bytes: { base64: '', type: '' } })],
    ...['content-length', 'Transfer-Encoding', 'connection', 'keep-alive', 'expect', 'upgrade', 'host', 'te', 'trailer', 'via', 'cookie', 'origin', 'referer', 'accept-encoding', 'date', 'dnt', 'Proxy-Authorization', 'sec-fetch-mode'].map(
      (name): [string, () => unknown] => [`a ${name} header, which fetch sets or refuses itself`, () => request({ url: api, headers: { [name]: '1' } })],
    ),
    ['an X-HTTP-Method-Override to a method fetch refuses', () => request({ url: api, headers: { 'x-http-method-override': 'TRACE' } })],
    ['a url with credentials', () => request({ url: 'https://user:pw@api.example.com/x' })],
    ['a url with a user name only', () => request({ url: 'https://user@api.example.com/x' })],
    ['a bytes type with a line break', () => request({ url: api, bytes: { base64: 'aGk=', type: 'text/plain\r\nx-evil: 1' } })],
    ['a NaN body', () => request({ url: api, body: NaN })],
    ['an Infinity inside a body', () => request({ url: api, body: { a: [1, Infinity] } })],
    ['a body whose toJSON gives null', () => request({ url: api, body: { toJSON: () => null } })],
    ['body: null', () => request({ url: api, method: 'POST', body: null })],
    ['a Map body', () => request({ url: api, body: new Map([['a', 1]]) })],
    ['a Set inside a body', () => request({ url: api, body: { s: new Set([1]) } })],
    ['a Response body', () => request({ url: api, body: new Response('x') })],
    ['a Request body', () => request({ url: api, body: new Request(api) })],
    ['a class instance body', () => request({ url: api, body: new (class Point { x = 1 })() })],
    ['a Request whose body is locked', () => {
      const r = new Request(api, { method: 'POST', body: 'x' })
      r.body?.getReader()
      return request(r)
    }],
    ['a Request already read', () => {
      const r = new Request(api, { method: 'POST', body: 'x' })
      void r.text()
      return request(r)
    }],
  ])('refuses %s with InvalidArgumentError', (_what, make) => {
    expect(make).toThrow(InvalidArgumentError)
  })
})

describe('classification and Retry-After', () => {
  it('retries 408, 425, 429 and 5xx, accepts 2xx, fails other statuses', () => {
    expect([200, 201, 204, 299].map(classifyStatus)).toEqual(['ok', 'ok', 'ok', 'ok'])
    expect([408, 425, 429, 500, 503, 599].map(classifyStatus)).toEqual(Array(6).fill('retry'))
    expect([301, 302, 400, 401, 403, 404, 409, 422].map(classifyStatus)).toEqual(Array(8).fill('fail'))
    expect(classifyStatus(304)).toBe('ok')
  })

  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT')
    expect(retryAfterMs('2', now)).toBe(2000)
    expect(retryAfterMs(' 120 ', now)).toBe(120_000)
    expect(retryAfterMs('Wed, 21 Oct 2026 07:28:30 GMT', now)).toBe(30_000)
    expect(retryAfterMs('Wed, 21 Oct 2026 07:00:00 GMT', now)).toBe(0)
    expect(retryAfterMs(null, now)).toBeUndefined()
    expect(retryAfterMs('soon', now)).toBeUndefined()
    expect(retryAfterMs('-1', now)).toBeUndefined()
  })

  it('reads the obsolete HTTP date forms as GMT, and nothing that only looks like a date', () => {
    const now = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT')
    expect(retryAfterMs('Wednesday, 21-Oct-26 07:28:30 GMT', now)).toBe(30_000)
    expect(retryAfterMs('Wed Oct 21 07:28:30 2026', now)).toBe(30_000)
    expect(retryAfterMs('Wed Oct  1 07:28:30 2026', now)).toBe(0)
    for (const junk of ['in 5', 'abc 1', 'x 2030', 'June 2040', '5 minutes', '120s', '1.5', '1e3', 'Dec', 'tomorrow', '2026-10-21T07:28:30Z', 'Wed, 21 Oct 2026 07:28:30 PST', 'Wed, 32 Oct 2026 07:28:30 GMT']) {
      expect([junk, retryAfterMs(junk, now)]).toEqual([junk, undefined])
    }
  })
})

describe('base64 of binary bodies', () => {
  const sample = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 255)
  const restore: (() => void)[] = []

  it.each([
    ['natively', (): void => undefined],
    ['in slices, without Buffer or Uint8Array.prototype.toBase64', (): void => {
      vi.stubGlobal('Buffer', undefined)
      const proto = Uint8Array.prototype as { toBase64?: unknown }
      const ctor = Uint8Array as { fromBase64?: unknown }
      const own = [Object.getOwnPropertyDescriptor(proto, 'toBase64'), Object.getOwnPropertyDescriptor(ctor, 'fromBase64')] as const
      delete proto.toBase64
      delete ctor.fromBase64
      restore.push(() => {
        if (own[0]) Object.defineProperty(proto, 'toBase64', own[0])
        if (own[1]) Object.defineProperty(ctor, 'fromBase64', own[1])
      })
    }],
  ])('turns bytes into base64 and back %s', (_how, setUp) => {
    const expected = [0, 1, 2, 3, 4, 49_151, 49_152, 49_153, 200_001].map((n) => [n, Buffer.from(sample(n)).toString('base64')] as const)
    setUp()
    try {
      for (const [n, base64] of expected) {
        expect(toBase64(sample(n))).toBe(base64)
        expect(fromBase64(base64)).toEqual(sample(n))
      }
      expect(toBase64(sample(10).subarray(3, 8))).toBe(btoa(String.fromCharCode(...sample(10).subarray(3, 8))))
      expect(fromBase64('aGk')).toEqual(new Uint8Array([104, 105]))
    } finally {
      vi.unstubAllGlobals()
      for (const undo of restore.splice(0)) undo()
    }
  })
})
