/**
 * The web demo's upload server (demo/web/server.ts) in a Vite dev server of its own, driven
 * with fetch as the page's worker drives it.
 */
import type { AddressInfo } from 'node:net'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { photoServer, type Received } from '../../demo/web/server.js'

let server: ViteDevServer
let api = ''

beforeAll(async () => {
  server = await createServer({
    configFile: false,
    logLevel: 'error',
    plugins: [photoServer()],
    optimizeDeps: { noDiscovery: true, include: [] },
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  })
  await server.listen()
  api = `http://127.0.0.1:${(server.httpServer?.address() as AddressInfo).port}/api`
})

afterAll(async () => {
  await server.close()
})

beforeEach(async () => {
  await fetch(`${api}/photos`, { method: 'DELETE' })
})

const put = (id: string, key: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${api}/photos/${id}`, { method: 'PUT', headers: { 'idempotency-key': key, 'content-type': 'image/jpeg', ...headers }, body })
const post = (id: string, key: string, body: unknown): Promise<Response> =>
  fetch(`${api}/albums/${id}`, { method: 'POST', headers: { 'idempotency-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) })
const received = async (): Promise<Received> => (await fetch(`${api}/photos`)).json() as Promise<Received>

describe('the demo upload server', () => {
  it('stores a photo once, and answers a repeat of the same request 200', async () => {
    expect((await put('a', 'k1', 'one')).status).toBe(201)
    const again = await put('a', 'k1', 'one')
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ id: 'a', duplicate: true })
    const r = await received()
    expect(r.photos.map((p) => [p.id, p.size, p.puts, p.duplicates])).toEqual([['a', 3, 2, 1]])
  })

  it('answers 422 to a key reused for another photo id, and stores nothing', async () => {
    expect((await put('a', 'k1', 'one')).status).toBe(201)
    const other = await put('b', 'k1', 'one')
    expect(other.status).toBe(422)
    expect(await other.json()).toEqual({ error: expect.stringMatching(/different request/) as unknown })
    expect((await fetch(`${api}/photos/b`)).status).toBe(404)
    expect((await received()).photos.map((p) => p.id)).toEqual(['a'])
  })

  it('answers 422 to a key reused with a different body, and keeps the first photo', async () => {
    expect((await put('a', 'k1', 'body-one')).status).toBe(201)
    expect((await put('a', 'k1', 'body-two-different')).status).toBe(422)
    expect(await (await fetch(`${api}/photos/a`)).text()).toBe('body-one')
  })

  it('keeps albums’ keys apart from photos’', async () => {
    expect((await put('a', 'same', 'one')).status).toBe(201)
    expect((await post('x', 'same', { a: 1 })).status).toBe(201)
    expect((await post('x', 'same', { a: 1 })).status).toBe(200)
    expect((await post('y', 'same', { a: 1 })).status).toBe(422)
    expect((await post('x', 'same', { a: 2 })).status).toBe(422)
    const r = await received()
    expect(r.albums.map((a) => [a.id, a.summary])).toEqual([['x', { a: 1 }]])
    expect(r.photos.map((p) => p.id)).toEqual(['a'])
  })

  it('answers 400 to a malformed percent-encoding in an id or in the photo name', async () => {
    const get = await fetch(`${api}/photos/%E0%A4%A`)
    expect(get.status).toBe(400)
    expect(await get.json()).toEqual({ error: 'the id is not valid percent-encoding' })
    expect((await put('%E0%A4%A', 'k1', 'x')).status).toBe(400)
    const named = await put('b', 'k2', 'x', { 'x-photo-name': '%E0%A4%A' })
    expect(named.status).toBe(400)
    expect(await named.json()).toEqual({ error: 'the x-photo-name header is not valid percent-encoding' })
    expect((await received()).photos).toEqual([])
  })

  it('forgets photos, albums and their keys on DELETE', async () => {
    expect((await put('a', 'k1', 'one')).status).toBe(201)
    expect((await post('x', 'k2', { a: 1 })).status).toBe(201)
    await fetch(`${api}/photos`, { method: 'DELETE' })
    expect(await received()).toMatchObject({ photos: [], albums: [] })
    expect((await put('b', 'k1', 'two')).status).toBe(201)
  })
})
