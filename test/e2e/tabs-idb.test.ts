import type { Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { TabsIdbApi } from './pages/tabs-idb.js'

type W = { tabs: TabsIdbApi }
const tabs = (p: Page) => ({
  start: (o: { hang?: boolean } = {}) => p.evaluate((o) => (window as unknown as W).tabs.start(o), o),
  dispatch: (n: number) => p.evaluate((n) => (window as unknown as W).tabs.dispatch(n), n),
  ran: () => p.evaluate(() => (window as unknown as W).tabs.ran()),
  claims: () => p.evaluate(() => (window as unknown as W).tabs.claims()),
  counts: () => p.evaluate(() => (window as unknown as W).tabs.counts()),
  succeededHeard: () => p.evaluate(() => (window as unknown as W).tabs.succeededHeard()),
})

describe('several tabs on one IndexedDB database (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })
  const open = async (n: number, query: string): Promise<Page[]> => {
    if (!e2e) throw new Error('the harness did not start')
    const pages: Page[] = []
    for (let i = 0; i < n; i++) pages.push(await e2e.open(`/test/e2e/pages/tabs-idb.html?${query}`))
    return pages
  }

  it('runs 2,000 jobs dispatched from 4 tabs exactly once, and every tab counts them all', async () => {
    const pages = await open(4, `db=four-${Date.now()}`)
    await Promise.all(pages.map((p) => tabs(p).start()))
    const dispatched = (await Promise.all(pages.map((p) => tabs(p).dispatch(500)))).flat()
    expect(new Set(dispatched).size).toBe(2000)
    const first = tabs(pages[0] as Page)
    await expect.poll(async () => (await first.counts()).succeeded, { interval: 200, timeout: 60_000 }).toBe(2000)
    const ran = (await Promise.all(pages.map((p) => tabs(p).ran()))).flat()
    expect(ran).toHaveLength(2000)
    expect(new Set(ran)).toEqual(new Set(dispatched))
    // Each tab ran some: dispatches in one tab woke the others.
    for (const p of pages) expect((await tabs(p).ran()).length).toBeGreaterThan(0)
    // Every tab heard every job finish, its own and the others', and its counts agree with the store.
    for (const p of pages) {
      await expect.poll(() => tabs(p).succeededHeard(), { interval: 100, timeout: 10_000 }).toBe(2000)
      expect(await tabs(p).counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, succeeded: 2000 })
    }
    await Promise.all(pages.map((p) => p.close()))
    expect(e2e?.pageErrors).toEqual([])
  }, 120_000)

  it('wakes an idle tab at once when another tab dispatches', async () => {
    const [producer, worker] = await open(2, `db=wake-${Date.now()}`)
    if (!producer || !worker) throw new Error('no tabs')
    await tabs(worker).start()
    // The idle tab has looked for work, found none, and waits.
    await expect.poll(() => tabs(worker).claims(), { interval: 20, timeout: 20_000 }).toBeGreaterThan(0)
    const [id] = await tabs(producer).dispatch(1)
    // The producer has no handler and no engine polls: without the broadcast the idle tab would
    // never run the job, so the bound only allows for a busy machine.
    await expect.poll(() => tabs(worker).ran(), { interval: 20, timeout: 20_000 }).toEqual([id])
    await Promise.all([producer.close(), worker.close()])
  }, 60_000)

  it('finishes in another tab a job whose tab closed while running it', async () => {
    const query = `db=closed-${Date.now()}&leaseMs=1500`
    const [doomed, survivor] = await open(2, query)
    if (!doomed || !survivor) throw new Error('no tabs')
    await tabs(doomed).start({ hang: true })
    const [id] = await tabs(doomed).dispatch(1)
    await expect.poll(() => tabs(doomed).ran(), { interval: 20, timeout: 20_000 }).toEqual([id])
    await tabs(survivor).start()
    await doomed.close()
    await expect.poll(() => tabs(survivor).ran(), { interval: 100, timeout: 30_000 }).toEqual([id])
    await expect.poll(async () => (await tabs(survivor).counts()).succeeded, { interval: 100, timeout: 20_000 }).toBe(1)
    await survivor.close()
  }, 90_000)
})
