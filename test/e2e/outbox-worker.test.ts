import type { Page } from 'playwright'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { OutboxWorkerApi } from './pages/outbox-worker.js'

type W = { outbox: OutboxWorkerApi }
const outbox = (p: Page) => ({
  dispatch: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.dispatch(ids), ids),
  attempts: () => p.evaluate(() => (window as unknown as W).outbox.attempts()),
  jobs: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.jobs(ids), ids),
  network: () => p.evaluate(() => (window as unknown as W).outbox.network()),
})

describe('an outbox hosted in a dedicated worker while the browser goes offline (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeEach(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterEach(async () => {
    await e2e?.close()
  })

  it('shows the worker’s network on the page, spends no attempt offline, and delivers every upload once after', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/outbox-worker.html')
    const o = outbox(page)
    expect(await o.network()).toEqual({ pageOnLine: true, clientOnline: true, events: [] })
    await e2e.context.setOffline(true)
    await expect.poll(() => o.network(), { timeout: 10_000 }).toEqual({ pageOnLine: false, clientOnline: false, events: ['queue:offline'] })
    const ids = Array.from({ length: 5 }, (_, i) => `w-photo-${i}`)
    await o.dispatch(ids)
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await o.attempts()).toEqual([])
    expect((await o.jobs(ids)).map((j) => [j?.state, j?.attempt])).toEqual(ids.map(() => ['waiting', 0]))
    await e2e.context.setOffline(false)
    await expect.poll(() => ids.every((id) => e2e?.uploads.get(id) === 1), { timeout: 30_000 }).toBe(true)
    await expect.poll(async () => (await o.jobs(ids)).map((j) => j?.state), { timeout: 10_000 }).toEqual(ids.map(() => 'succeeded'))
    for (const j of await o.jobs(ids)) expect(j).toMatchObject({ attempt: 1, result: { n: 1, where: 'worker' } })
    expect(await o.network()).toEqual({ pageOnLine: true, clientOnline: true, events: ['queue:offline', 'queue:online'] })
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)
})
