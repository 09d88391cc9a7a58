import type { Page } from 'playwright'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'
import type { TabsOpfsApi } from './pages/tabs-opfs.js'

type W = { tabs: TabsOpfsApi }
const tabs = (p: Page) => ({
  isHost: () => p.evaluate(() => (window as unknown as W).tabs.isHost()),
  dispatch: (n: number) => p.evaluate((n) => (window as unknown as W).tabs.dispatch(n), n),
  startStream: () => p.evaluate(() => (window as unknown as W).tabs.startStream()),
  stopStream: () => p.evaluate(() => (window as unknown as W).tabs.stopStream()),
  acked: () => p.evaluate(() => (window as unknown as W).tabs.acked()),
  runs: () => p.evaluate(() => (window as unknown as W).tabs.runs()),
  counts: () => p.evaluate(() => (window as unknown as W).tabs.counts()),
  succeededHeard: () => p.evaluate(() => (window as unknown as W).tabs.succeededHeard()),
  states: (ids: string[]) => p.evaluate((ids) => (window as unknown as W).tabs.states(ids), ids),
})

const PAGE = '/test/e2e/pages/tabs-opfs.html'

describe('tabs sharing one queue on OPFS SQLite, hosted by one of them (Chromium, end to end)', () => {
  // A server per test: a new origin, so a new OPFS and a new Web Lock namespace.
  let e2e: E2E | undefined
  beforeEach(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterEach(async () => {
    await e2e?.close()
  })
  const open = async (n: number): Promise<Page[]> => {
    if (!e2e) throw new Error('the harness did not start')
    const pages: Page[] = []
    for (let i = 0; i < n; i++) pages.push(await e2e.open(PAGE))
    return pages
  }
  const hostOf = async (pages: Page[]): Promise<Page> => {
    await expect.poll(async () => (await Promise.all(pages.map((p) => tabs(p).isHost()))).filter(Boolean).length, { timeout: 10_000 }).toBe(1)
    for (const p of pages) if (await tabs(p).isHost()) return p
    throw new Error('no host')
  }

  it('elects one host and runs 2,000 jobs dispatched from 4 tabs exactly once', async () => {
    const pages = await open(4)
    await hostOf(pages)
    const ids = (await Promise.all(pages.map((p) => tabs(p).dispatch(500)))).flat()
    expect(new Set(ids).size).toBe(2000)
    const first = tabs(pages[0] as Page)
    await expect.poll(async () => (await first.counts()).succeeded, { interval: 250, timeout: 90_000 }).toBe(2000)
    const runs = await first.runs()
    expect(runs).toHaveLength(2000)
    expect(new Set(runs.map((r) => r.id))).toEqual(new Set(ids))
    for (const p of pages) {
      await expect.poll(() => tabs(p).succeededHeard(), { interval: 100, timeout: 10_000 }).toBe(2000)
      expect(await tabs(p).counts()).toMatchObject({ waiting: 0, active: 0, succeeded: 2000 })
    }
    expect(e2e?.pageErrors).toEqual([])
  }, 150_000)

  /** Clients stream dispatches while `end` ends the host tab; a client takes over. */
  const survivesTheHost = async (end: (host: Page) => Promise<void>): Promise<void> => {
    const pages = await open(4)
    const host = await hostOf(pages)
    const clients = pages.filter((p) => p !== host)
    for (const c of clients) await tabs(c).startStream()
    await expect.poll(async () => Math.min(...(await Promise.all(clients.map((c) => tabs(c).acked())))), { timeout: 20_000 }).toBeGreaterThan(10)
    await end(host)
    const next = await hostOf(clients)
    // The stream goes on through the new host.
    const before = await Promise.all(clients.map((c) => tabs(c).acked()))
    await expect
      .poll(async () => (await Promise.all(clients.map((c) => tabs(c).acked()))).every((n, i) => n > (before[i] ?? 0) + 5), { timeout: 30_000 })
      .toBe(true)
    const acked = (await Promise.all(clients.map((c) => tabs(c).stopStream()))).flat()
    expect(new Set(acked).size).toBe(acked.length)
    await expect.poll(async () => (await tabs(next).states(acked))['succeeded'] ?? 0, { interval: 250, timeout: 60_000 }).toBe(acked.length)
    // No job was written twice: the store holds no more jobs than were acknowledged, plus any
    // dispatch still in flight when the streams stopped.
    const counts = await tabs(next).counts()
    const total = counts.succeeded + counts.waiting + counts.active + counts.delayed
    expect(total).toBeGreaterThanOrEqual(acked.length)
    expect(total).toBeLessThanOrEqual(acked.length + clients.length)
    // At-least-once: a job runs again only if it was taken over after its lease ran out.
    const runs = await tabs(next).runs()
    const byId = new Map<string, number[]>()
    for (const r of runs) byId.set(r.id, [...(byId.get(r.id) ?? []), r.attempt])
    for (const [id, attempts] of byId) {
      if (attempts.length > 1) expect(new Set(attempts).size, `job ${id} ran twice in one attempt`).toBe(attempts.length)
    }
  }

  it('keeps every acknowledged dispatch, none doubled, when the host tab closes mid-stream', async () => {
    await survivesTheHost((host) => host.close())
  }, 150_000)

  it('keeps every acknowledged dispatch, none doubled, when the host tab crashes mid-stream', async () => {
    await survivesTheHost(async (host) => {
      const crashed = new Promise<void>((resolve) => host.once('crash', () => resolve()))
      const cdp = await host.context().newCDPSession(host)
      // The renderer dies at once: no unload, no close of the worker or the channel; only the
      // browser's release of the dead tab's Web Lock lets another tab take over.
      // The command's answer never comes (its target is gone): the page's crash event is awaited.
      void cdp.send('Page.crash').catch(() => undefined)
      await crashed
    })
  }, 150_000)
})
