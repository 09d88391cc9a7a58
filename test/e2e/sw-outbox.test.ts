import type { Page } from 'playwright'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { SwOutboxApi } from './pages/sw-outbox.js'

type W = { outbox: SwOutboxApi }
const outbox = (p: Page) => ({
  dispatch: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.dispatch(ids), ids),
  attempts: () => p.evaluate(() => (window as unknown as W).outbox.attempts()),
  jobs: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.jobs(ids), ids),
  onLine: () => p.evaluate(() => (window as unknown as W).outbox.onLine()),
  hasSync: () => p.evaluate(() => (window as unknown as W).outbox.hasSync()),
})

const PAGE = '/test/e2e/pages/sw-outbox.html'

describe('an outbox drained by a service worker on Background Sync (Chromium, end to end)', () => {
  // A server per test: a new origin, so a new IndexedDB and no service worker yet.
  let e2e: E2E | undefined
  beforeEach(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterEach(async () => {
    await e2e?.close()
  })

  it('delivers uploads dispatched offline once each, with no page open, when the network returns', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(PAGE)
    const o = outbox(page)
    // Another origin's page holds the browser context once the outbox page has closed; its
    // DevTools session records what Background Sync does.
    const holder = await e2e.context.newPage()
    const cdp = await e2e.context.newCDPSession(holder)
    const syncLog: string[] = []
    cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent: e }) => {
      if (e.origin.startsWith(e2e?.origin ?? '-')) syncLog.push([e.eventName, ...e.eventMetadata.map((m) => `${m.key}: ${m.value}`)].join(', '))
    })
    await cdp.send('BackgroundService.startObserving', { service: 'backgroundSync' })
    await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service: 'backgroundSync' })
    await e2e.context.setOffline(true)
    await expect.poll(() => o.onLine(), { timeout: 10_000 }).toBe(false)
    const ids = Array.from({ length: 5 }, (_, i) => `sw-photo-${i}`)
    expect(await o.dispatch(ids)).toBe(true)
    expect(await o.attempts()).toEqual({ page: [], sw: [] })
    expect((await o.jobs(ids)).map((j) => j?.state)).toEqual(ids.map(() => 'waiting'))
    await page.close()
    expect(e2e.context.pages()).toEqual([holder])
    expect(e2e.uploads.size).toBe(0)

    await e2e.context.setOffline(false)
    // Chromium fires the sync once it is online; the service worker drains the outbox.
    await expect.poll(() => ids.every((id) => e2e?.uploads.get(id) === 1), { timeout: 30_000 }).toBe(true)
    expect(e2e.context.pages()).toEqual([holder])
    await expect.poll(() => syncLog, { timeout: 10_000 }).toEqual(['Registered sync', 'Dispatched sync event, Last Chance: No', 'Sync completed, Status: succeeded'])

    // Opened again, the page finds every upload done by the service worker, in one attempt.
    const again = await e2e.open(PAGE)
    await expect.poll(async () => (await outbox(again).jobs(ids)).map((j) => j?.state), { timeout: 10_000 }).toEqual(ids.map(() => 'succeeded'))
    for (const j of await outbox(again).jobs(ids)) expect(j).toMatchObject({ attempt: 1, result: { n: 1, where: 'sw' } })
    for (const id of ids) expect(e2e.uploads.get(id)).toBe(1)
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('runs the jobs in the page itself where the registration has no Background Sync, spending no attempt offline', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`${PAGE}?nosync`)
    const o = outbox(page)
    expect(await o.hasSync()).toBe(false)
    await e2e.context.setOffline(true)
    await expect.poll(() => o.onLine(), { timeout: 10_000 }).toBe(false)
    const ids = Array.from({ length: 5 }, (_, i) => `page-photo-${i}`)
    expect(await o.dispatch(ids)).toBe(false)
    // Offline for a while: the page's engine runs and claims nothing.
    await new Promise((resolve) => setTimeout(resolve, 3_000))
    expect(await o.attempts()).toEqual({ page: [], sw: [] })
    expect((await o.jobs(ids)).map((j) => [j?.state, j?.attempt])).toEqual(ids.map(() => ['waiting', 0]))

    await e2e.context.setOffline(false)
    await expect.poll(() => ids.every((id) => e2e?.uploads.get(id) === 1), { timeout: 30_000 }).toBe(true)
    await expect.poll(async () => (await o.jobs(ids)).map((j) => j?.state), { timeout: 10_000 }).toEqual(ids.map(() => 'succeeded'))
    const { page: runs, sw } = await o.attempts()
    expect(sw).toEqual([])
    expect(runs.map((a) => a.id).sort()).toEqual([...ids].sort())
    expect(runs.every((a) => a.attempt === 1 && a.onLine)).toBe(true)
    for (const j of await o.jobs(ids)) expect(j).toMatchObject({ attempt: 1, result: { n: 1, where: 'page' } })
    for (const id of ids) expect(e2e.uploads.get(id)).toBe(1)
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)
})
