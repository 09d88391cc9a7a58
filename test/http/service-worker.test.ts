import type { Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { HttpResult } from '../../src/http/index.js'
import { reload, startE2E, type E2E } from '../e2e/harness.js'
import type { HttpSwApi } from './pages/http-sw.js'
import { startTestServer, type LoggedRequest, type TestServer } from './server.js'

type W = { outbox: HttpSwApi }
const outbox = (p: Page) => ({
  dispatchOne: (url: string, backoffMs: number) => p.evaluate(([url, ms]) => (window as unknown as W).outbox.dispatchOne(url, ms), [url, backoffMs] as const),
  dispatchChain: (base: string) => p.evaluate((base) => (window as unknown as W).outbox.dispatchChain(base), base),
  chain: (id: string) => p.evaluate((id) => (window as unknown as W).outbox.chain(id), id),
  jobs: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.jobs(ids), ids),
  onLine: () => p.evaluate(() => (window as unknown as W).outbox.onLine()),
})

const PAGE = '/test/http/pages/http-sw.html'

describe('an outbox of requests sent by a service worker (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  let server: TestServer | undefined
  beforeAll(async () => {
    server = await startTestServer()
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
    await server?.close()
  })

  it('delivers a POST then a PUT with the created id, made offline, once the browser is back online with no page open', async () => {
    if (!e2e || !server) throw new Error('the harness did not start')
    const ns = `sw-${Date.now()}`
    const log = async (): Promise<LoggedRequest[]> => (await (await fetch(`${server?.url}/_log/${ns}`)).json()) as LoggedRequest[]
    const page = await e2e.open(PAGE)
    const o = outbox(page)
    // Another origin's page holds the browser context once the outbox page has closed.
    const holder = await e2e.context.newPage()
    await e2e.context.setOffline(true)
    await expect.poll(() => o.onLine(), { timeout: 10_000 }).toBe(false)
    const { chainId, sync } = await o.dispatchChain(`${server.url}/${ns}`)
    expect(sync).toBe(true)
    const steps = (await o.chain(chainId)).steps.map((s) => s.jobId)
    await page.close()
    expect(await log()).toEqual([])

    await e2e.context.setOffline(false)
    await expect.poll(async () => (await log()).length, { timeout: 30_000 }).toBe(2)
    const [post, put] = await log()
    expect(post).toMatchObject({ method: 'POST', path: `/${ns}/items`, headers: { 'idempotency-key': steps[0], 'x-trace': 'sw' } })
    const created = (JSON.parse(post?.text ?? '{}') as { title?: string }).title
    expect(created).toBe('made offline')
    expect(put).toMatchObject({ method: 'PUT', path: expect.stringMatching(new RegExp(`^/${ns}/items/item-\\d+$`)) as string, headers: { 'idempotency-key': steps[1] } })
    expect(e2e.context.pages()).toEqual([holder])

    const again = outbox(await e2e.open(PAGE))
    await expect.poll(async () => (await again.chain(chainId)).state, { timeout: 10_000 }).toBe('succeeded')
    const [first, second] = await again.jobs(steps)
    const id = ((first?.result as HttpResult).body as { id: string }).id
    expect(put?.path).toBe(`/${ns}/items/${id}`)
    expect(first).toMatchObject({ attempt: 1, result: { status: 201 } })
    expect(second).toMatchObject({ attempt: 1, result: { status: 200, body: { id, title: 'sent by the service worker' } } })
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('sends the same Idempotency-Key after the page that tried first was reloaded', async () => {
    if (!e2e || !server) throw new Error('the harness did not start')
    const ns = `reload-${Date.now()}`
    await fetch(`${server.url}/_script/${ns}`, { method: 'POST', body: JSON.stringify([{ status: 503 }, { status: 201 }]) })
    const log = async (): Promise<LoggedRequest[]> => (await (await fetch(`${server?.url}/_log/${ns}`)).json()) as LoggedRequest[]
    const page = await e2e.open(`${PAGE}?engine`)
    const id = await outbox(page).dispatchOne(`${server.url}/${ns}/notes`, 1_500)
    // The first attempt got its 503 and the retry waits for its backoff: the page goes now.
    await expect.poll(async () => (await outbox(page).jobs([id]))[0]?.state, { timeout: 10_000 }).toBe('delayed')
    await reload(page)
    await expect.poll(async () => (await outbox(page).jobs([id]))[0]?.state, { timeout: 20_000 }).toBe('succeeded')
    expect((await log()).map((r) => r.headers['idempotency-key'])).toEqual([id, id])
    expect((await outbox(page).jobs([id]))[0]).toMatchObject({ attempt: 2, result: { status: 201 } })
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)
})
