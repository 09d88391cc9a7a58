import type { Page } from 'playwright'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { OutboxApi } from './pages/outbox.js'
import type { UploadResult } from './pages/outbox-jobs.js'

type W = { outbox: OutboxApi }
const outbox = (p: Page) => ({
  dispatch: (ids: string[], o: { always?: boolean } = {}) => p.evaluate(([ids, o]) => (window as unknown as W).outbox.dispatch(ids, o), [ids, o] as const),
  attempts: () => p.evaluate(() => (window as unknown as W).outbox.attempts()),
  jobs: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.jobs(ids), ids),
  network: () => p.evaluate(() => (window as unknown as W).outbox.network()),
  requestBackgroundSync: () =>
    p.evaluate(() =>
      Promise.race([(window as unknown as W).outbox.requestBackgroundSync(), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 10_000))]),
    ),
})

describe('an outbox page whose browser goes offline for a while (Chromium, end to end)', () => {
  // A server per test: a new origin, so a new IndexedDB.
  let e2e: E2E | undefined
  beforeEach(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterEach(async () => {
    await e2e?.close()
  })

  it('spends no attempt while offline, and delivers every upload once when the network returns', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/outbox.html')
    const o = outbox(page)
    expect(await o.network()).toMatchObject({ page: { onLine: true }, worker: { onLine: true }, queue: { online: true } })

    await e2e.context.setOffline(true)
    // The page, its dedicated worker and the engine all see the browser go offline. Chromium
    // fires no online/offline events in workers (crbug.com/114475): a worker reads onLine only.
    await expect
      .poll(() => o.network(), { timeout: 10_000 })
      .toMatchObject({
        page: { onLine: false, events: ['offline'] },
        worker: { onLine: false },
        queue: { online: false, events: ['queue:offline'] },
      })
    const workerEvents = (await o.network()).worker.events
    const ids = Array.from({ length: 6 }, (_, i) => `photo-${i}`)
    await o.dispatch(ids)
    // The control, an upload with no network mode, spends attempts meanwhile: it measures the
    // time spent offline with the engine running, and shows that failing fetches are counted.
    await o.dispatch(['control'], { always: true })
    await expect.poll(async () => (await o.attempts()).filter((a) => a.id === 'control').length, { timeout: 30_000 }).toBeGreaterThanOrEqual(8)
    const offline = await o.attempts()
    expect(offline.filter((a) => a.type === 'upload')).toEqual([])
    expect(offline.every((a) => !a.onLine)).toBe(true)
    expect((await o.jobs(ids)).map((j) => [j?.state, j?.attempt])).toEqual(ids.map(() => ['waiting', 0]))
    expect([...e2e.uploads.keys()]).toEqual([])

    await e2e.context.setOffline(false)
    await expect.poll(() => ids.every((id) => e2e?.uploads.get(id) === 1), { timeout: 30_000 }).toBe(true)
    await expect.poll(async () => (await o.jobs([...ids, 'control'])).map((j) => j?.state), { timeout: 20_000 }).toEqual([...ids, 'control'].map(() => 'succeeded'))
    // Each upload ran once, online, and reached the server once.
    const runs = (await o.attempts()).filter((a) => a.type === 'upload')
    expect(runs.map((a) => a.id).sort()).toEqual([...ids].sort())
    expect(runs.every((a) => a.attempt === 1 && a.onLine && a.where === 'page')).toBe(true)
    for (const j of await o.jobs(ids)) expect(j).toMatchObject({ attempt: 1, result: { n: 1, where: 'page' } satisfies Partial<UploadResult> })
    for (const id of ids) expect(e2e.uploads.get(id)).toBe(1)
    expect(e2e.uploads.get('control')).toBe(1)
    const after = await o.network()
    expect(after).toMatchObject({
      page: { onLine: true, events: ['offline', 'online'] },
      worker: { onLine: true },
      queue: { online: true, events: ['queue:offline', 'queue:online'] },
    })
    console.info(
      `outbox e2e: offline, ${offline.length} attempts of the control and 0 of the ${ids.length} uploads; then ${runs.length} runs, ` +
        `server counts ${JSON.stringify(Object.fromEntries(e2e.uploads))}; worker events offline ${JSON.stringify(workerEvents)}, after ${JSON.stringify(after.worker.events)}`,
    )
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('has requestBackgroundSync resolve false at once where no service worker is registered, and wait for one being installed', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/outbox.html')
    expect(await outbox(page).requestBackgroundSync()).toBe(false)
    const late = await page.evaluate(() => (window as unknown as W).outbox.registerAndRequestSync())
    expect(late).toEqual({ installing: true, synced: true, active: true })
  }, 30_000)
})
