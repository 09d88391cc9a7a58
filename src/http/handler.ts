/**
 * `httpHandler()`: the handler of `'http'` jobs. Each attempt builds its request at send time
 * (fresh headers, the handler's `prepare`), sends the job id as `Idempotency-Key`, and turns the
 * answer into a result, a wait the server asked for, a retry, or a failure:
 *
 * - `ok` (2xx by default): the result keeps the status, some headers and the body.
 * - `retry` (408, 425, 429 and 5xx): with a `Retry-After` the job waits that long without
 *   spending its attempt (`JobDeferredError`), up to `maxDeferrals` times per job on this
 *   handler; without one, or past that, it is an ordinary failed attempt (backoff), and past
 *   that the next attempt still waits as long as the server asked.
 * - `fail` (any other status): `UnrecoverableError`, the job fails at once.
 * - a redirect: followed for GET and HEAD (the result says so); for any other method it is not
 *   followed, since fetch would send the write on as a bodiless GET, and the job fails at once.
 * - a 2xx is never undone by its body: one cut off, too deep to store or not the JSON it claims
 *   to be is kept as far as it goes, flagged.
 * - fetch itself failing (the network) is an ordinary failed attempt; the engine puts it back
 *   without spending it while offline (`network: 'online'`).
 *
 * @module
 */
import { InvalidArgumentError, JobDeferredError, QueueError, UnrecoverableError } from '../core/errors.js'
import type { Handler, JobContext } from '../core/types.js'
import { checkStorable } from '../core/storable.js'
import { fromBase64 } from './bytes.js'
import { checkBytes, checkHeaders, checkMethod, checkUrl, isStream, jsonText, textual, type RequestSpec } from './request.js'

/** What an `'http'` job's result holds. */
export type HttpResult = {
  status: number
  /** The headers kept (names in lower case): see `resultHeaders`. */
  headers: Record<string, string>
  /** JSON parsed when the response is JSON, text when it is text; left out when empty or binary. */
  body?: unknown
  /** Set when the body was longer than `maxBodyBytes`, or the connection broke while it was read: it is then the text read. */
  truncated?: true
  /** Set when a JSON body did not parse, or was nested too deeply to store: it is then text. */
  unparsed?: true
  /** Set when a GET or HEAD was redirected; `url` is where the answer came from. */
  redirected?: true
  url?: string
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
   * cannot keep a job forever. Counted in memory by this handler: a reload, another engine or a
   * service worker started afresh counts from zero again.
   * @default 10
   */
  maxDeferrals?: number
}

const KEPT_HEADERS = ['content-type', 'location', 'etag', 'last-modified']
const REDIRECTS = new Set([301, 302, 303, 307, 308])
const EXCERPT_BYTES = 1024
const EXCERPT_CHARS = 200
/** Jobs whose deferrals are counted; the oldest are forgotten past this. */
const COUNTED_JOBS = 10_000

/** The default classification (DESIGN §13). */
export function classifyStatus(status: number): Verdict {
  // 304: the answer to a conditional GET (If-None-Match) that fetch hands over as it is.
  if ((status >= 200 && status < 300) || status === 304) return 'ok'
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
  // Per job: the free waits taken, and the time before which the server asked not to be sent again.
  const deferrals = new Map<string, { count: number; notBefore: number }>()
  const remember = (id: string, entry: { count: number; notBefore: number }): void => {
    deferrals.delete(id) // re-inserted last: the map forgets the oldest first
    deferrals.set(id, entry)
    if (deferrals.size > COUNTED_JOBS) deferrals.delete(deferrals.keys().next().value as string)
  }

  return async (payload, ctx) => {
    // A Retry-After that came once the free waits were spent cost its attempt; the next attempt
    // still waits as long as it asked, without sending (and without spending another).
    const early = (deferrals.get(ctx.id)?.notBefore ?? 0) - Date.now()
    if (early > 0) throw new JobDeferredError(early, `waiting ${early} ms more, as the last Retry-After asked`)
    const spec = o.prepare ? await o.prepare(payload, ctx) : payload
    const extra = o.headers ? await o.headers(ctx) : undefined
    const { url, init } = buildRequest(spec, extra, ctx)
    const send = o.fetch ?? ((input: RequestInfo | URL, i?: RequestInit) => globalThis.fetch(input, i))
    const res = await send(url, init)
    const where = `${init.method} ${shortUrl(url)} answered ${res.type === 'opaqueredirect' ? 'a redirect' : `${res.status}${res.statusText ? ` ${res.statusText}` : ''}`}`
    if (init.redirect === 'manual' && (res.type === 'opaqueredirect' || REDIRECTS.has(res.status))) {
      deferrals.delete(ctx.id)
      await res.body?.cancel().catch(() => undefined)
      const location = res.headers.get('location')
      const err = new UnrecoverableError(
        `${where}${location === null ? '' : ` to ${location}`}: a ${init.method} is not sent on through a redirect (fetch turns it into a GET without its body after 301, 302 and 303): send it to the url it moved to`,
      )
      throw Object.assign(err, location === null ? { status: res.status } : { status: res.status, location })
    }
    const verdict = classify(res)
    if (verdict === 'ok') {
      deferrals.delete(ctx.id)
      return resultOf(res, kept, maxBodyBytes, ctx.signal)
    }
    const excerpt = await bodyExcerpt(res)
    if (verdict === 'retry') {
      const wait = retryAfterMs(res.headers.get('retry-after'), Date.now())
      const done = deferrals.get(ctx.id)?.count ?? 0
      const ms = wait === undefined ? undefined : Math.min(wait, maxRetryAfterMs)
      if (ms !== undefined && done < maxDeferrals) {
        remember(ctx.id, { count: done + 1, notBefore: 0 })
        throw new JobDeferredError(ms, `${where}: waiting ${ms} ms as Retry-After asks`)
      }
      if (ms !== undefined) remember(ctx.id, { count: done, notBefore: Date.now() + ms })
      throw withData(new QueueError(ms === undefined ? where : `${where}; Retry-After: ${ms} ms`, { code: 'HTTP_STATUS' }), res.status, excerpt)
    }
    deferrals.delete(ctx.id)
    throw withData(new UnrecoverableError(where), res.status, excerpt)
  }
}

/**
 * The url and fetch options of one attempt, checked as `request()` checks a spec, since a
 * handler's `prepare` may have changed it. A payload that cannot make a request fails the job.
 */
function buildRequest(spec: RequestSpec, extra: Record<string, string> | undefined, ctx: JobContext): { url: string; init: RequestInit & { method: string } } {
  if (typeof spec !== 'object' || spec === null || typeof spec.url !== 'string') {
    throw new UnrecoverableError(`job ${ctx.id} has no request to send: its payload needs a url`)
  }
  try {
    const url = checkUrl(spec.url)
    const headers = new Headers(checkHeaders(spec.headers))
    for (const [name, value] of Object.entries(checkHeaders(extra) ?? {})) headers.set(name, value)
    headers.set('Idempotency-Key', ctx.id)
    let body: BodyInit | undefined
    if (spec.bytes !== undefined) {
      if (spec.body !== undefined) throw new InvalidArgumentError('a request has a body or bytes, not both')
      const { base64, type } = checkBytes(spec.bytes)
      body = fromBase64(base64)
      if (type !== '' && !headers.has('content-type')) headers.set('content-type', type)
    } else if (spec.body !== undefined) {
      if (typeof spec.body === 'string' && spec.json !== true) body = spec.body
      else if (isStream(spec.body)) throw new InvalidArgumentError('a stream body cannot be sent again on a retry: pass a Blob or an ArrayBuffer')
      else if (isBodyInit(spec.body)) body = spec.body
      else {
        body = jsonText(spec.body)
        if (!headers.has('content-type')) headers.set('content-type', 'application/json')
      }
    }
    const method = checkMethod(spec.method, body !== undefined)
    const init: RequestInit & { method: string } = { method, headers, signal: ctx.signal }
    if (body !== undefined) init.body = body
    // A write is not followed to another place: fetch turns a POST answered 301, 302 or 303 into a bodiless GET.
    if (method !== 'GET' && method !== 'HEAD') init.redirect = 'manual'
    return { url, init }
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

async function resultOf(res: Response, kept: readonly string[], maxBodyBytes: number, signal: AbortSignal): Promise<HttpResult> {
  const headers: Record<string, string> = {}
  for (const name of kept) {
    const v = res.headers.get(name)
    if (v !== null) headers[name] = v
  }
  const out: HttpResult = { status: res.status, headers }
  if (res.redirected) {
    out.redirected = true
    out.url = res.url
  }
  const type = res.headers.get('content-type') ?? ''
  if (type !== '' && !textual(type)) {
    await res.body?.cancel().catch(() => undefined)
    return out
  }
  // The request was delivered: a body that breaks off is kept as far as it came, not retried.
  const { text, truncated } = await readText(res, maxBodyBytes, signal)
  if (truncated) {
    out.body = text
    out.truncated = true
  } else if (text !== '') {
    if (/[/+]json\b/i.test(type)) {
      const value = storableJson(text)
      if (value === undefined) out.unparsed = true
      out.body = value === undefined ? text : value.json
    } else {
      out.body = text
    }
  }
  return out
}

/** The parsed JSON, unless it does not parse or no store could keep it (nested too deeply). */
function storableJson(text: string): { json: unknown } | undefined {
  try {
    const json = JSON.parse(text) as unknown
    checkStorable(json, 'the response body', 'a request job')
    return { json }
  } catch {
    return undefined
  }
}

/**
 * The body as text, at most `max` bytes of it: the rest is never read. A body that breaks off
 * (the connection closed) comes back `truncated`; an aborted attempt throws.
 */
async function readText(res: Response, max: number, signal?: AbortSignal): Promise<{ text: string; truncated: boolean }> {
  if (!res.body) return { text: '', truncated: false }
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  let truncated = false
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>
    try {
      chunk = await reader.read()
    } catch (err) {
      if (signal?.aborted === true) throw err
      truncated = true
      break
    }
    const { done, value } = chunk
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
  return { text: decoderFor(res.headers.get('content-type') ?? '').decode(all, { stream: truncated }), truncated }
}

/** A decoder for the charset the content-type names, UTF-8 when it names none TextDecoder knows. */
function decoderFor(type: string): TextDecoder {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)?.[1]
  if (charset !== undefined) {
    try {
      return new TextDecoder(charset)
    } catch {
      // An unknown charset: read as UTF-8.
    }
  }
  return new TextDecoder()
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

const DAY = '(Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAY = '(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const MONTH = `(${MONTHS.join('|')})`
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})'
/** `Sun, 06 Nov 1994 08:49:37 GMT` */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`)
/** `Sunday, 06-Nov-94 08:49:37 GMT` */
const RFC_850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`)
/** `Sun Nov  6 08:49:37 1994` */
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`)

/**
 * The wait a `Retry-After` value asks for, if it is one: delay-seconds (digits only) or an
 * HTTP-date (RFC 9110: IMF-fixdate, or the obsolete RFC 850 and asctime forms, all GMT).
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = httpDate(v, now)
  return at === undefined ? undefined : Math.max(0, at - now)
}

function httpDate(v: string, now: number): number | undefined {
  let m = IMF_FIXDATE.exec(v)
  if (m) return utc(Number(m[4]), m[3], m[2], m.slice(5, 8))
  m = RFC_850.exec(v)
  if (m) {
    // A two-digit year more than 50 years ahead is of the century before (RFC 9110 §5.6.7).
    let year = Math.floor(new Date(now).getUTCFullYear() / 100) * 100 + Number(m[4])
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100
    return utc(year, m[3], m[2], m.slice(5, 8))
  }
  m = ASCTIME.exec(v)
  if (m) return utc(Number(m[7]), m[2], m[3], m.slice(4, 7))
  return undefined
}

/** The time of a date's parts, unless they name no real date (31 Feb, 25:00). */
function utc(year: number, month: string | undefined, day: string | undefined, time: (string | undefined)[]): number | undefined {
  const mon = MONTHS.indexOf(month ?? '')
  const [h, min, sec] = time.map(Number) as [number, number, number]
  const d = Number((day ?? '').trim())
  const at = Date.UTC(year, mon, d, h, min, sec)
  const t = new Date(at)
  if (t.getUTCDate() !== d || t.getUTCMonth() !== mon || t.getUTCHours() !== h || t.getUTCMinutes() !== min || t.getUTCSeconds() !== sec) return undefined
  return at
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
