/**
 * `request()`: a job of type `'http'` that sends one request. Everything a request needs is
 * checked here, when the spec is made, so a bad request never reaches the store; what takes a
 * promise to read (a `Blob`, `FormData`, a `Request`'s body) is read once, at dispatch, into a
 * form every store keeps.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js'
import { job, withPrepare, type JobSpec } from '../core/job-spec.js'
import { storedBytesOf, toBase64, type StoredBytes } from './bytes.js'

/**
 * A request as a job's payload.
 *
 * - `body`: a JSON value (sent as JSON), a string (sent as text, or as a JSON string with
 *   `json: true`), or, given to `request()`, a `Blob`, an `ArrayBuffer`, a typed array,
 *   `FormData` or `URLSearchParams`, which are kept as `bytes`.
 * - `bytes`: a binary body as stored, base64 with its media type.
 */
export type RequestSpec = {
  url: string
  /** @default 'POST' with a body, else 'GET' */
  method?: string
  /** Given to `request()` or returned by `prepare`, a `Headers` is taken too (as an object). */
  headers?: Record<string, string>
  body?: unknown
  /** Send a string `body` as JSON. Other values are always JSON; binary bodies never are. */
  json?: boolean
  bytes?: StoredBytes
}

/** The job map entry of request jobs: `createQueue<MyJobs & HttpJobs>()`. */
export type HttpJobs = { http: RequestSpec }

/**
 * A job that sends a request when it runs: register `httpHandler()` for the type `'http'`.
 * A `Request` is read once, at dispatch (its url, method, headers and body; its other options
 * are not kept).
 * @example
 * queue.register('http', httpHandler(), { network: 'online' })
 * await queue.dispatch(request({ url: '/api/notes', method: 'POST', body: { text } }))
 */
export function request(input: RequestSpec | (Omit<RequestSpec, 'headers'> & { headers?: Headers }) | Request): JobSpec<'http', RequestSpec> {
  // Read when called: no platform global is touched at import time.
  const RequestClass = (globalThis as { Request?: typeof Request }).Request
  if (RequestClass !== undefined && input instanceof RequestClass) return fromRequest(input)
  if (typeof input !== 'object' || input === null) throw new InvalidArgumentError('request() needs a RequestSpec ({ url, ... }) or a Request')
  return fromSpec(input as RequestSpec)
}

function fromSpec(input: RequestSpec): JobSpec<'http', RequestSpec> {
  const url = checkUrl(input.url)
  const headers = checkHeaders(input.headers)
  const { body, bytes, json } = input
  if (json !== undefined && typeof json !== 'boolean') throw new InvalidArgumentError('json must be a boolean')
  if (body === null) throw new InvalidArgumentError('body: null sends nothing: leave body out for no body, or pass the string \'null\' with a content-type')
  const hasBody = body !== undefined || bytes !== undefined
  const method = checkMethod(input.method, hasBody)
  const base: RequestSpec = { url, method }
  if (headers) base.headers = headers
  if (bytes !== undefined) {
    if (body !== undefined) throw new InvalidArgumentError('a request has a body or bytes, not both')
    return job('http', { ...base, bytes: checkBytes(bytes) })
  }
  if (body === undefined) return job('http', base)
  if (typeof body === 'string' && json !== true) return job('http', { ...base, body })
  const view = bytesOf(body)
  if (view) {
    if (json === true) throw new InvalidArgumentError('a binary body cannot be sent as JSON')
    // Copied now: the caller may reuse its buffer before the job is dispatched.
    return job('http', { ...base, bytes: { base64: toBase64(view), type: '' } })
  }
  if (readLater(body)) {
    if (json === true) throw new InvalidArgumentError('a binary body cannot be sent as JSON')
    return withPrepare(job<'http', RequestSpec>('http', { ...base, body }), async () => ({ ...base, bytes: await storedBytesOf(body) }))
  }
  if (isStream(body)) throw new InvalidArgumentError('a stream can be read only once: pass a Blob or an ArrayBuffer as the body')
  if (json === false) throw new InvalidArgumentError('a body that is not a string is sent as JSON: leave json out or set it to true')
  return job('http', { ...base, body: jsonCopy(body), json: true })
}

function fromRequest(req: Request): JobSpec<'http', RequestSpec> {
  if (req.bodyUsed) throw new InvalidArgumentError('the Request body was already read')
  if (req.body?.locked === true) throw new InvalidArgumentError('the Request body is being read (its stream is locked)')
  const url = checkUrl(req.url)
  const headers = checkHeaders(Object.fromEntries(req.headers))
  const method = checkMethod(req.method, req.body !== null)
  const base: RequestSpec = headers ? { url, method, headers } : { url, method }
  if (req.body === null) return job('http', base)
  // Kept unread: each dispatch of the spec reads a clone of it, and the caller's Request stays unread.
  const kept = req.clone()
  return withPrepare(job('http', base), async () => {
    const copy = kept.clone()
    const type = copy.headers.get('content-type') ?? ''
    const buffer = await copy.arrayBuffer()
    const text = textual(type) ? utf8(buffer) : undefined
    // Text stays readable in the store (and editable by a handler's `prepare`); the rest is bytes.
    return text === undefined ? { ...base, bytes: { base64: toBase64(new Uint8Array(buffer)), type } } : { ...base, body: text }
  })
}

/** An absolute http(s) URL; a relative one is resolved against the page or worker that makes the spec. */
export function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || url === '') throw new InvalidArgumentError('a request needs a url')
  const base = (globalThis as { location?: { href?: unknown } }).location?.href
  let parsed: URL
  try {
    parsed = new URL(url, typeof base === 'string' ? base : undefined)
  } catch {
    throw new InvalidArgumentError(`${JSON.stringify(url)} is not a URL${typeof base === 'string' ? '' : ' (a relative URL needs a page or a worker to resolve it against)'}`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new InvalidArgumentError(`a request url must be http or https, got ${parsed.protocol}`)
  // fetch refuses them when it sends, and the store would keep the password at rest.
  if (parsed.username !== '' || parsed.password !== '') throw new InvalidArgumentError('a request url cannot hold credentials (user:password@): send them in a header')
  return parsed.href
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const FORBIDDEN = new Set(['CONNECT', 'TRACE', 'TRACK'])

/** The method in capitals; fetch refuses CONNECT and TRACE, and a body on GET or HEAD. */
export function checkMethod(method: unknown, hasBody: boolean): string {
  if (method === undefined) return hasBody ? 'POST' : 'GET'
  if (typeof method !== 'string' || !TOKEN.test(method)) throw new InvalidArgumentError(`${JSON.stringify(method)} is not an HTTP method`)
  const m = method.toUpperCase()
  if (FORBIDDEN.has(m)) throw new InvalidArgumentError(`fetch cannot send ${m}`)
  if (hasBody && (m === 'GET' || m === 'HEAD')) throw new InvalidArgumentError(`a ${m} request cannot have a body`)
  return m
}

/**
 * The Fetch standard's forbidden request headers: fetch sets them itself, browsers drop them
 * without a word and Node refuses some (or, given `content-length`, waits forever).
 */
const FORBIDDEN_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers', 'access-control-request-method',
  'connection', 'content-length', 'cookie', 'cookie2', 'date', 'dnt', 'expect', 'host', 'keep-alive',
  'origin', 'referer', 'set-cookie', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via',
])
const METHOD_OVERRIDES = new Set(['x-http-method', 'x-http-method-override', 'x-method-override'])

/** Headers as given (an object of strings or a `Headers`), checked as fetch checks them; undefined when there are none. */
export function checkHeaders(headers: unknown): Record<string, string> | undefined {
  if (headers === undefined) return undefined
  const HeadersClass = (globalThis as { Headers?: typeof Headers }).Headers
  if (HeadersClass !== undefined && headers instanceof HeadersClass) headers = Object.fromEntries(headers)
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) throw new InvalidArgumentError('headers must be an object of strings or a Headers')
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new InvalidArgumentError(`header ${name} must be a string`)
    try {
      new Headers([[name, value]])
    } catch {
      throw new InvalidArgumentError(`${JSON.stringify(name)}: ${JSON.stringify(value)} is not a valid header`)
    }
    const lower = name.toLowerCase()
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) {
      throw new InvalidArgumentError(`${name} is a header fetch sets itself or refuses: a request cannot set it`)
    }
    if (METHOD_OVERRIDES.has(lower) && value.split(',').some((m) => FORBIDDEN.has(m.trim().toUpperCase()))) {
      throw new InvalidArgumentError(`${name}: ${value} names a method fetch cannot send`)
    }
    if (lower === 'idempotency-key') {
      throw new InvalidArgumentError('Idempotency-Key is the job id on every attempt: choose it with .withId(key)')
    }
    out[name] = value
  }
  return Object.keys(out).length > 0 ? out : undefined
}

export function checkBytes(bytes: unknown): StoredBytes {
  const b = bytes as Partial<StoredBytes> | null
  if (typeof b !== 'object' || b === null || typeof b.base64 !== 'string' || typeof b.type !== 'string') {
    throw new InvalidArgumentError('bytes must be { base64: string, type: string }')
  }
  if (!BASE64.test(b.base64) || b.base64.length % 4 === 1) throw new InvalidArgumentError('bytes.base64 is not base64')
  if (b.type !== '') {
    try {
      new Headers([['content-type', b.type]])
    } catch {
      throw new InvalidArgumentError(`bytes.type ${JSON.stringify(b.type)} is not a valid content-type`)
    }
    if (/[\r\n]/.test(b.type)) throw new InvalidArgumentError(`bytes.type ${JSON.stringify(b.type)} is not a valid content-type`)
  }
  return { base64: b.base64, type: b.type }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** The bytes of an ArrayBuffer, a SharedArrayBuffer or a view on one, copied. */
function bytesOf(body: unknown): Uint8Array | undefined {
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0))
  const g = globalThis as { SharedArrayBuffer?: typeof SharedArrayBuffer }
  if (g.SharedArrayBuffer !== undefined && body instanceof g.SharedArrayBuffer) return new Uint8Array(body.slice(0))
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength))
  return undefined
}

/** Bodies read at dispatch, by `Response`, into bytes with their type. */
function readLater(body: unknown): body is Blob | FormData | URLSearchParams {
  const g = globalThis as { Blob?: typeof Blob; FormData?: typeof FormData; URLSearchParams?: typeof URLSearchParams }
  return (
    (g.Blob !== undefined && body instanceof g.Blob) ||
    (g.FormData !== undefined && body instanceof g.FormData) ||
    (g.URLSearchParams !== undefined && body instanceof g.URLSearchParams)
  )
}

export function isStream(body: unknown): boolean {
  const g = globalThis as { ReadableStream?: typeof ReadableStream }
  return g.ReadableStream !== undefined && body instanceof g.ReadableStream
}

class Unfaithful extends Error {}

/**
 * The JSON text a body is sent as. Refused when JSON would send something else than the value:
 * a NaN or an Infinity (sent as null), a Map, a Set, a Response or any class instance without
 * `toJSON` (sent as `{}`), a body that comes out as null.
 */
export function jsonText(body: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(body, function (this: unknown, key, value: unknown) {
      const at = key === '' ? 'the body' : `body key ${JSON.stringify(key)}`
      if (typeof value === 'number' && !Number.isFinite(value)) throw new Unfaithful(`${at} is ${value}, which JSON sends as null`)
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const proto = Object.getPrototypeOf(value) as unknown
        if (proto !== Object.prototype && proto !== null) {
          const name = (value as { constructor?: { name?: unknown } }).constructor?.name
          throw new Unfaithful(`${at} is a ${typeof name === 'string' && name !== '' ? name : 'class instance'}, which JSON sends as {}: pass plain data`)
        }
      }
      return value
    })
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    throw new InvalidArgumentError(err instanceof Unfaithful ? why : `the body cannot be sent as JSON: ${why}`, { cause: err })
  }
  if (text === undefined) throw new InvalidArgumentError(`a ${typeof body} body cannot be sent as JSON`)
  if (text === 'null') throw new InvalidArgumentError('the body comes out as null in JSON: leave body out for no body')
  return text
}

/** The body as the JSON that will be sent, so every store keeps the same thing. */
function jsonCopy(body: unknown): unknown {
  return JSON.parse(jsonText(body))
}

/** Whether a media type is text: JSON, XML, form data, anything `text/`. */
export function textual(type: string): boolean {
  return /^text\/|[/+](json|xml)\b|^application\/(x-www-form-urlencoded|javascript|ecmascript)\b/i.test(type.trim())
}

function utf8(buffer: ArrayBuffer): string | undefined {
  try {
    // ignoreBOM keeps a byte order mark: the text sent is the bytes that were given.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buffer)
  } catch {
    return undefined
  }
}
