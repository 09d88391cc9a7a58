/**
 * `httpHandler()`: the handler of `'http'` jobs. Each attempt builds its request at send time
 * (fresh headers, the handler's `prepare`), sends the job id as `Idempotency-Key`, and turns the
 * answer into a result, a wait the server asked for, a retry, or a failure:
 *
 * - `ok` (2xx by default): the result keeps the status, some headers and the body.
 * - `retry` (408, 425, 429 and 5xx): with a `Retry-After` the job waits that long without
 *   spending its attempt (`JobDeferredError`), up to `maxDeferrals` times per job on this
 *   handler; without one, or past that, it is an ordinary failed attempt (backoff).
 * - `fail` (any other status): `UnrecoverableError`, the job fails at once.
 * - fetch itself failing (the network) is an ordinary failed attempt; the engine puts it back
 *   without spending it while offline (`network: 'online'`).
 *
 * @module
 */
import { InvalidArgumentError, JobDeferredError, QueueError, UnrecoverableError } from '../core/errors.js'
import type { Handler, JobContext } from '../core/types.js'
import { fromBase64 } from './bytes.js'
import { textual, type RequestSpec } from './request.js'

/** What an `'http'` job's result holds. */
export type HttpResult = {
  status: number
  /** The headers kept (names in lower case): see `resultHeaders`. */
  headers: Record<string, string>
  /** JSON parsed when the response is JSON, text when it is text; left out when empty or binary. */
  body?: unknown
  /** Set when the body was longer than `maxBodyBytes` and was cut (it is then text). */
  truncated?: true
}

export type Verdict = 'ok' | 'retry' | 'fail'

export interface HttpHandlerOptions {
  /** @default globalThis.fetch, read when a request is sent */
  fetch?: typeof fetch
  /**
   * Headers computed for each attempt, at send time: a token refreshed while the device was
   * offline is the one sent. They override the spec's headers.
   */
  headers?: (job: JobContext) => Record<string, string> | Promise<Record<string, string>>
  /** @default 2xx 'ok'; 408, 425, 429 and 5xx 'retry'; anything else 'fail' */
  classify?: (res: Response) => Verdict
  /**
   * Changes the request before each attempt, e.g. with the previous chain step's result.
   * @example prepare: (spec, ctx) => ({ ...spec, url: spec.url.replace(':id', idFrom(ctx.previousResult)) })
   */
  prepare?: (spec: RequestSpec, ctx: JobContext) => RequestSpec | Promise<RequestSpec>
  /**
   * Response headers kept in the result besides content-type, location, etag and last-modified.
   * @default []
   */
  resultHeaders?: string[]
  /** Bytes of the response body kept in the result. @default 65_536 */
  maxBodyBytes?: number
  /** Longest `Retry-After` wait honoured; a longer one waits this long. @default 3_600_000 (1 h) */
  maxRetryAfterMs?: number
  /**
   * `Retry-After` waits that spend no attempt, per job on this handler until the job ends; past
   * them a retry status counts as a failed attempt, so a server that always says "later"
   * cannot keep a job forever. Counted in memory: a reload starts again from zero.
   * @default 10
   */
  maxDeferrals?: number
}

const KEPT_HEADERS = ['content-type', 'location', 'etag', 'last-modified']
const EXCERPT_BYTES = 1024
const EXCERPT_CHARS = 200
/** Jobs whose deferrals are counted; the oldest are forgotten past this. */
const COUNTED_JOBS = 10_000

/** The default classification (DESIGN §13). */
export function classifyStatus(status: number): Verdict {
  if (status >= 200 && status < 300) return 'ok'
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry'
  return 'fail'
}

/**
 * The handler of request jobs.
 * @example queue.register('http', httpHandler({ headers: async () => ({ authorization: `Bearer ${await token()}` }) }), { network: 'online' })
 */
export function httpHandler(o: HttpHandlerOptions = {}): Handler<RequestSpec> {
  const maxBodyBytes = count('maxBodyBytes', o.maxBodyBytes, 65_536)
  const maxRetryAfterMs = count('maxRetryAfterMs', o.maxRetryAfterMs, 3_600_000)
  const maxDeferrals = count('maxDeferrals', o.maxDeferrals, 10)
  const kept = [...KEPT_HEADERS, ...(o.resultHeaders ?? []).map((h) => h.toLowerCase())]
  const classify = o.classify ?? ((res: Response) => classifyStatus(res.status))
  const deferrals = new Map<string, number>()

  return async (payload, ctx) => {
    const spec = o.prepare ? await o.prepare(payload, ctx) : payload
    const extra = o.headers ? await o.headers(ctx) : undefined
    const { url, init } = buildRequest(spec, extra, ctx)
    const send = o.fetch ?? ((input: RequestInfo | URL, i?: RequestInit) => globalThis.fetch(input, i))
    const res = await send(url, init)
    const verdict = classify(res)
    if (verdict === 'ok') {
      deferrals.delete(ctx.id)
      return resultOf(res, kept, maxBodyBytes)
    }
    const excerpt = await bodyExcerpt(res)
    const where = `${init.method} ${shortUrl(url)} answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`
    if (verdict === 'retry') {
      const wait = retryAfterMs(res.headers.get('retry-after'), Date.now())
      const done = deferrals.get(ctx.id) ?? 0
      if (wait !== undefined && done < maxDeferrals) {
        deferrals.delete(ctx.id) // re-inserted last: the map forgets the oldest first
        deferrals.set(ctx.id, done + 1)
        if (deferrals.size > COUNTED_JOBS) deferrals.delete(deferrals.keys().next().value as string)
        const ms = Math.min(wait, maxRetryAfterMs)
        throw new JobDeferredError(ms, `${where}: waiting ${ms} ms as Retry-After asks`)
      }
      throw withData(new QueueError(where, { code: 'HTTP_STATUS' }), res.status, excerpt)
    }
    deferrals.delete(ctx.id)
    throw withData(new UnrecoverableError(where), res.status, excerpt)
  }
}

/** The url and fetch options of one attempt. A payload that cannot make a request fails the job. */
function buildRequest(spec: RequestSpec, extra: Record<string, string> | undefined, ctx: JobContext): { url: string; init: RequestInit & { method: string } } {
  if (typeof spec !== 'object' || spec === null || typeof spec.url !== 'string') {
    throw new UnrecoverableError(`job ${ctx.id} has no request to send: its payload needs a url`)
  }
  try {
    const headers = new Headers(spec.headers)
    for (const [name, value] of Object.entries(extra ?? {})) headers.set(name, value)
    headers.set('Idempotency-Key', ctx.id)
    let body: BodyInit | undefined
    if (spec.bytes !== undefined) {
      body = fromBase64(spec.bytes.base64)
      const type = spec.bytes.type
      if (typeof type === 'string' && type !== '' && !headers.has('content-type')) headers.set('content-type', type)
    } else if (spec.body !== undefined && spec.body !== null) {
      if (typeof spec.body === 'string' && spec.json !== true) body = spec.body
      else if (isBodyInit(spec.body)) body = spec.body
      else {
        body = JSON.stringify(spec.body)
        if (!headers.has('content-type')) headers.set('content-type', 'application/json')
      }
    }
    const method = (spec.method ?? (body === undefined ? 'GET' : 'POST')).toUpperCase()
    const init: RequestInit & { method: string } = { method, headers, signal: ctx.signal }
    if (body !== undefined) init.body = body
    // Checked now, so a bad payload fails the job instead of passing for a network error.
    new Request(spec.url, init)
    return { url: spec.url, init }
  } catch (err) {
    throw new UnrecoverableError(`job ${ctx.id} cannot make its request: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/** A body a handler's `prepare` made at run time (a Blob, a buffer), sent as it is. */
function isBodyInit(body: unknown): body is BodyInit {
  return (
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof FormData !== 'undefined' && body instanceof FormData) ||
    (typeof URLSearchParams !== 'undefined' && body instanceof URLSearchParams)
  )
}

async function resultOf(res: Response, kept: readonly string[], maxBodyBytes: number): Promise<HttpResult> {
  const headers: Record<string, string> = {}
  for (const name of kept) {
    const v = res.headers.get(name)
    if (v !== null) headers[name] = v
  }
  const out: HttpResult = { status: res.status, headers }
  const type = res.headers.get('content-type') ?? ''
  if (type !== '' && !textual(type)) {
    await res.body?.cancel()
    return out
  }
  const { text, truncated } = await readText(res, maxBodyBytes)
  if (truncated) {
    out.body = text
    out.truncated = true
  } else if (text !== '') {
    out.body = /[/+]json\b/i.test(type) ? parseOr(text) : text
  }
  return out
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

/** The body as text, at most `max` bytes of it: the rest is never read. */
async function readText(res: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false }
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  let truncated = false
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (size + value.byteLength > max) {
      parts.push(value.subarray(0, max - size))
      size = max
      truncated = true
      reader.cancel().catch(() => undefined)
      break
    }
    parts.push(value)
    size += value.byteLength
  }
  const all = new Uint8Array(size)
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.byteLength
  }
  // Streaming when cut: a character split at the cut is left out rather than mangled.
  return { text: new TextDecoder().decode(all, { stream: truncated }), truncated }
}

/** The start of an error response's body, for the job's error. */
async function bodyExcerpt(res: Response): Promise<string | undefined> {
  const type = res.headers.get('content-type') ?? ''
  if (type !== '' && !textual(type)) {
    await res.body?.cancel()
    return undefined
  }
  try {
    const { text } = await readText(res, EXCERPT_BYTES)
    const t = text.trim()
    return t === '' ? undefined : t.length > EXCERPT_CHARS ? `${t.slice(0, EXCERPT_CHARS)}…` : t
  } catch {
    return undefined
  }
}

function withData<E extends Error>(err: E, status: number, body: string | undefined): E {
  // Own plain properties: serializeError keeps them in the stored error's `data`.
  Object.assign(err, body === undefined ? { status } : { status, body })
  return err
}

/** The wait a `Retry-After` value asks for (delay in seconds, or an HTTP date), if it is one. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  // An HTTP date names its day and month: a bare number that is not a delay (`-1`) is no date.
  const at = /[a-z]/i.test(v) ? Date.parse(v) : NaN
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The url without its query, which may hold secrets, for messages. */
function shortUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return url
  }
}

function count(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback
  if (!Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be a whole number >= 0, got ${v}`)
  return v
}
