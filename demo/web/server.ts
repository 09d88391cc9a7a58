/**
 * The server the web demo uploads to, as a Vite plugin: it runs in the dev server's process and
 * keeps what it receives in memory.
 *
 * - `PUT /api/photos/:id` (body: the photo) stores it and answers 201. A request whose
 *   `Idempotency-Key` was seen before is answered 200 and stored no second time; a key seen
 *   with another photo id or another body is answered 422, as servers that honour the header do.
 * - `POST /api/albums/:id` (body: JSON) keeps an album's summary, once per key too (albums'
 *   keys are apart from photos').
 * - `GET /api/photos` lists what arrived: ids, names, sizes, and how many requests each id took;
 *   `GET /api/photos/:id` sends a photo back; `DELETE /api/photos` forgets everything.
 * - `GET|POST /api/settings` `{ online, failureRate, latencyMs }`: while `online` is false every
 *   upload's connection is cut (the browser's fetch fails as it does with no network); a
 *   `failureRate` share of photo uploads answers 503, so jobs retry; `latencyMs` holds each
 *   answer back, as a slow network would.
 *
 * Bad input (a malformed percent-encoding, a body that is not JSON, an unknown setting) is a
 * 400: a 5xx would make the uploader retry what can never succeed.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'

export interface ServerSettings {
  /** Answer uploads at all. @default true */
  online: boolean
  /** The share of photo uploads answered 503, from 0 to 1. @default 0 */
  failureRate: number
  /** How long each upload's answer is held back, in ms. @default 0 */
  latencyMs: number
}

export interface ReceivedPhoto {
  id: string
  name: string
  type: string
  size: number
  /** The PUT requests of this id that reached the server (refused ones included). */
  puts: number
  /** Of those, how many repeated an `Idempotency-Key` already stored. */
  duplicates: number
  /** When it was stored (ms since the epoch). */
  at: number
}

export interface ReceivedAlbum {
  id: string
  summary: unknown
  posts: number
  at: number
}

export interface Received {
  settings: ServerSettings
  photos: ReceivedPhoto[]
  albums: ReceivedAlbum[]
}

const MAX_BODY = 32 * 1024 * 1024

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) reject(new HttpError(413, `a body may hold at most ${MAX_BODY} bytes`))
      else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.statusCode = status
  res.setHeader('content-type', 'application/json')
  res.setHeader('cache-control', 'no-store')
  res.end(JSON.stringify(value))
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** `decodeURIComponent`, with a malformed encoding a 400 rather than a URIError (a 500). */
function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new HttpError(400, `${what} is not valid percent-encoding`)
  }
}

/** What an idempotency key was first used for: a repeat must be the same request. */
function fingerprint(id: string, body: Buffer): string {
  return `${id}\n${createHash('sha256').update(body).digest('hex')}`
}

/** Checks a settings change field by field; anything else is a 400. */
function checkSettings(v: unknown): Partial<ServerSettings> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'settings must be a JSON object')
  const out: Partial<ServerSettings> = {}
  for (const [k, x] of Object.entries(v)) {
    if (k === 'online') {
      if (typeof x !== 'boolean') throw new HttpError(400, 'online must be true or false')
      out.online = x
    } else if (k === 'failureRate') {
      if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new HttpError(400, 'failureRate must be a number from 0 to 1')
      out.failureRate = x
    } else if (k === 'latencyMs') {
      if (typeof x !== 'number' || !(x >= 0 && x <= 60_000)) throw new HttpError(400, 'latencyMs must be a number from 0 to 60000')
      out.latencyMs = x
    } else {
      throw new HttpError(400, `unknown setting ${JSON.stringify(k)}`)
    }
  }
  return out
}

/** The upload server, as Connect middleware mounted at `/api`. */
export function photoServer(): Plugin {
  const settings: ServerSettings = { online: true, failureRate: 0, latencyMs: 0 }
  const photos = new Map<string, ReceivedPhoto & { bytes: Buffer }>()
  /** Idempotency keys stored, and the request (id and body) each one came with: photos' and albums' apart. */
  const photoKeys = new Map<string, string>()
  const albumKeys = new Map<string, string>()
  /** Requests per photo id, counted before they are stored (a refused one counts too). */
  const puts = new Map<string, { puts: number; duplicates: number }>()
  const albums = new Map<string, ReceivedAlbum>()
  const albumPosts = new Map<string, number>()

  /** Ends the exchange the way a lost network does: no answer, the connection cut. */
  const cut = (req: IncomingMessage): void => {
    req.socket.destroy()
  }

  /** Answers after the configured latency, or cuts the connection if the network went off meanwhile. */
  const answer = async (req: IncomingMessage, res: ServerResponse, status: number, value: unknown): Promise<void> => {
    if (settings.latencyMs > 0) await sleep(settings.latencyMs)
    if (!settings.online) cut(req)
    else sendJson(res, status, value)
  }

  const keyReused = { error: 'this Idempotency-Key was used for a different request' }

  const putPhoto = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const key = req.headers['idempotency-key']
    if (typeof key !== 'string' || key === '') throw new HttpError(400, 'an upload needs an Idempotency-Key header')
    const header = req.headers['x-photo-name']
    const name = typeof header === 'string' ? decode(header, 'the x-photo-name header') : id
    const bytes = await readBody(req)
    const count = puts.get(id) ?? { puts: 0, duplicates: 0 }
    puts.set(id, count)
    count.puts++
    const request = fingerprint(id, bytes)
    const stored = photoKeys.get(key)
    if (stored !== undefined && stored !== request) return answer(req, res, 422, keyReused)
    if (Math.random() < settings.failureRate) return answer(req, res, 503, { error: 'the server is busy (failure rate)' })
    if (stored !== undefined) {
      count.duplicates++
      return answer(req, res, 200, { id, duplicate: true })
    }
    const type = req.headers['content-type'] ?? 'application/octet-stream'
    photos.set(id, { id, name, type, size: bytes.length, puts: 0, duplicates: 0, at: Date.now(), bytes })
    photoKeys.set(key, request)
    // Stored before the (maybe slow) answer: a connection lost now is the case idempotency keys are for.
    return answer(req, res, 201, { id, size: bytes.length })
  }

  const postAlbum = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const key = req.headers['idempotency-key']
    if (typeof key !== 'string' || key === '') throw new HttpError(400, 'a summary needs an Idempotency-Key header')
    const body = await readBody(req)
    let summary: unknown
    try {
      summary = JSON.parse(body.toString('utf8'))
    } catch {
      throw new HttpError(400, 'a summary is JSON')
    }
    const request = fingerprint(id, body)
    const stored = albumKeys.get(key)
    if (stored !== undefined && stored !== request) return answer(req, res, 422, keyReused)
    const posts = (albumPosts.get(id) ?? 0) + 1
    albumPosts.set(id, posts)
    const album = albums.get(id)
    if (album) album.posts = posts
    if (stored !== undefined) return answer(req, res, 200, { id, duplicate: true })
    albumKeys.set(key, request)
    albums.set(id, { id, summary, posts, at: Date.now() })
    return answer(req, res, 201, { id })
  }

  const received = (): Received => ({
    settings: { ...settings },
    photos: [...photos.values()]
      .sort((a, b) => a.at - b.at)
      .map(({ bytes: _bytes, ...p }) => ({ ...p, ...puts.get(p.id) })),
    albums: [...albums.values()].sort((a, b) => a.at - b.at),
  })

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://demo')
    const [, collection, rawId, extra] = url.pathname.split('/')
    const id = rawId === undefined || rawId === '' ? undefined : decode(rawId, 'the id')
    if (extra !== undefined) throw new HttpError(404, 'no such resource')
    const method = req.method ?? 'GET'

    if (collection === 'settings' && id === undefined) {
      if (method === 'POST') Object.assign(settings, checkSettings(JSON.parse((await readBody(req)).toString('utf8') || 'null')))
      else if (method !== 'GET') throw new HttpError(405, 'GET or POST')
      return sendJson(res, 200, settings)
    }
    if (collection === 'photos' && id === undefined) {
      if (method === 'GET') return sendJson(res, 200, received())
      if (method === 'DELETE') {
        for (const m of [photos, photoKeys, albumKeys, puts, albums, albumPosts]) m.clear()
        return sendJson(res, 200, received())
      }
      throw new HttpError(405, 'GET or DELETE')
    }
    if (collection === 'photos' && id !== undefined) {
      if (method === 'GET') {
        const p = photos.get(id)
        if (!p) throw new HttpError(404, 'no such photo')
        res.setHeader('content-type', p.type)
        res.setHeader('cache-control', 'no-store')
        res.end(p.bytes)
        return
      }
      if (method !== 'PUT') throw new HttpError(405, 'GET or PUT')
      if (!settings.online) return cut(req)
      return putPhoto(req, res, id)
    }
    if (collection === 'albums' && id !== undefined) {
      if (method !== 'POST') throw new HttpError(405, 'POST')
      if (!settings.online) return cut(req)
      return postAlbum(req, res, id)
    }
    throw new HttpError(404, 'no such resource')
  }

  return {
    name: 'ferry-demo-photo-server',
    configureServer(server) {
      server.middlewares.use('/api', (req, res) => {
        route(req, res).catch((err: unknown) => {
          if (res.headersSent || req.socket.destroyed) return
          if (err instanceof SyntaxError) sendJson(res, 400, { error: 'the body is not JSON' })
          else if (err instanceof HttpError) sendJson(res, err.status, { error: err.message })
          else sendJson(res, 500, { error: String(err) })
        })
      })
    },
  }
}
