import type { Page } from 'playwright'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { SwHangApi } from './pages/sw-hang.js'
import type { SwOutboxApi } from './pages/sw-outbox.js'

type W = { outbox: SwOutboxApi }
const outbox = (p: Page) => ({
  dispatch: (ids: string[], o: { hold?: number; sync?: boolean } = {}) => p.evaluate(([ids, o]) => (window as unknown as W).outbox.dispatch(ids, o), [ids, o] as const),
  attempts: () => p.evaluate(() => (window as unknown as W).outbox.attempts()),
  jobs: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).outbox.jobs(ids), ids),
  requestSync: () => p.evaluate(() => (window as unknown as W).outbox.requestSync()),
  onLine: () => p.evaluate(() => (window as unknown as W).outbox.onLine()),
  hasSync: () => p.evaluate(() => (window as unknown as W).outbox.hasSync()),
})

const PAGE = '/test/e2e/pages/sw-outbox.html'

/**
 * Records what Background Sync does for `origin`, through the DevTools session of a page, and
 * can dispatch a sync event through it.
 */
async function syncWatch(page: Page, origin: string): Promise<{ log: string[]; dispatch(tag: string): Promise<void> }> {
  const log: string[] = []
  const cdp = await page.context().newCDPSession(page)
  cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent: e }) => {
    // Chromium lists the metadata in no fixed order: sorted by key here.
    const metadata = [...e.eventMetadata].sort((a, b) => (a.key < b.key ? -1 : 1)).map((m) => `${m.key}: ${m.value}`)
    if (e.origin.startsWith(origin)) log.push([e.eventName, ...metadata].join(', '))
  })
  let registrationId: string | undefined
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    for (const r of registrations) if (r.scopeURL.startsWith(origin)) registrationId = r.registrationId
  })
  await cdp.send('ServiceWorker.enable')
  await cdp.send('BackgroundService.startObserving', { service: 'backgroundSync' })
  await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service: 'backgroundSync' })
  return {
    log,
    async dispatch(tag) {
      await expect.poll(() => registrationId).toBeDefined()
      await cdp.send('ServiceWorker.dispatchSyncEvent', { origin, registrationId: registrationId ?? '', tag, lastChance: false })
    },
  }
}

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
    const { log: synced } = await syncWatch(holder, e2e.origin)
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
    await expect.poll(() => synced, { timeout: 10_000 }).toEqual(['Registered sync', 'Dispatched sync event, Last Chance: No', 'Sync completed, Status: succeeded'])

    // Opened again, the page finds every upload done by the service worker, in one attempt.
    const again = await e2e.open(PAGE)
    await expect.poll(async () => (await outbox(again).jobs(ids)).map((j) => j?.state), { timeout: 10_000 }).toEqual(ids.map(() => 'succeeded'))
    for (const j of await outbox(again).jobs(ids)) expect(j).toMatchObject({ attempt: 1, result: { n: 1, where: 'sw' } })
    for (const id of ids) expect(e2e.uploads.get(id)).toBe(1)
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('fails a sync whose drain ends offline with an upload left, so the browser fires it again; the upload spends no attempt', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`${PAGE}?noengine`)
    const o = outbox(page)
    const sync = await syncWatch(page, e2e.origin)
    // Online: the sync fires at once. The service worker runs two uploads at a time, and the
    // server answers them late; the third waits its turn.
    expect(await o.dispatch(['slow-1', 'slow-2', 'third'], { hold: 4_000 })).toBe(true)
    await expect.poll(() => sync.log, { timeout: 10_000 }).toContain('Dispatched sync event, Last Chance: No')
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    // The connection drops meanwhile: the drain ends offline, the third upload left waiting.
    await e2e.context.setOffline(true)
    await expect
      .poll(() => sync.log.at(-1), { timeout: 20_000 })
      .toBe('sync event failed, Failure Reason: waitUntil rejected, Next Attempt Delay (ms): 300000')
    expect(await o.jobs(['third'])).toMatchObject([{ state: 'waiting', attempt: 0 }])
    expect(e2e.uploads.has('third')).toBe(false)
    // Online again: the next sync (here through DevTools, not five minutes later) delivers it.
    await e2e.context.setOffline(false)
    await sync.dispatch('outbox')
    await expect.poll(() => e2e?.uploads.get('third'), { timeout: 20_000 }).toBe(1)
    await expect.poll(async () => (await o.jobs(['third']))[0], { timeout: 10_000 }).toMatchObject({ state: 'succeeded', attempt: 1, result: { n: 1, where: 'sw' } })
    console.info(`sw-outbox e2e: sync log ${JSON.stringify(sync.log)}; uploads ${JSON.stringify(Object.fromEntries(e2e.uploads))}`)
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('finishes the uploads of a page that closed mid-upload, with no page open, through a sync fired again', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(PAGE)
    const o = outbox(page)
    const holder = await e2e.context.newPage()
    const sync = await syncWatch(holder, e2e.origin)
    // The page's engine starts both uploads (the server answers them late), then asks for a sync.
    const ids = ['closing-1', 'closing-2']
    expect(await o.dispatch(ids, { hold: 6_000, sync: false })).toBe(false)
    await expect.poll(async () => (await o.attempts()).page.map((a) => a.id).sort(), { timeout: 10_000 }).toEqual(ids)
    expect(await o.requestSync()).toBe(true)
    // The service worker finds them running under the page: the sync fails, to come again.
    await expect
      .poll(() => sync.log.at(-1), { timeout: 20_000 })
      .toBe('sync event failed, Failure Reason: waitUntil rejected, Next Attempt Delay (ms): 300000')
    expect((await o.jobs(ids)).map((j) => j?.state)).toEqual(['active', 'active'])
    // The page closes mid-upload: the server never answers it.
    await page.close()
    expect(e2e.context.pages()).toEqual([holder])
    expect(e2e.uploads.size).toBe(0)
    // The sync fired again (here through DevTools, not five minutes later) takes the jobs over.
    // Fired the moment the page closed, it may still find the page's engine alive, and fail: then
    // it is fired again, as the browser would.
    for (let i = 0; i < 5 && !ids.every((id) => e2e?.uploads.get(id) === 1); i++) {
      await sync.dispatch('outbox')
      await expect
        .poll(() => ids.every((id) => e2e?.uploads.get(id) === 1), { timeout: 15_000 })
        .toBe(true)
        .catch(() => undefined)
    }
    expect(ids.map((id) => e2e?.uploads.get(id))).toEqual([1, 1])
    expect(e2e.context.pages()).toEqual([holder])

    const again = await e2e.open(`${PAGE}?noengine`)
    await expect.poll(async () => (await outbox(again).jobs(ids)).map((j) => j?.state), { timeout: 10_000 }).toEqual(ids.map(() => 'succeeded'))
    for (const j of await outbox(again).jobs(ids)) expect(j).toMatchObject({ attempt: 2, result: { n: 1, where: 'sw' } })
    for (const id of ids) expect(e2e.uploads.get(id)).toBe(1)
    console.info(`sw-outbox e2e (page closed mid-upload): sync log ${JSON.stringify(sync.log)}`)
    expect(e2e.pageErrors).toEqual([])
  }, 90_000)

  it('resolves requestBackgroundSync false, within a few seconds, when the service worker never finishes installing', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/sw-hang.html')
    type H = { swHang: SwHangApi }
    expect(await page.evaluate(() => (window as unknown as H).swHang.requestSync(20_000))).toBe(false)
    expect(await page.evaluate(() => (window as unknown as H).swHang.installing())).toBe('installing')
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)

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
