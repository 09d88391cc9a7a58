import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'

describe('IndexedDB store in two tabs of one origin (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it('never runs a job in both tabs', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const path = `/test/e2e/pages/idb-tabs.html?db=tabs-${Date.now()}`
    const [a, b] = await Promise.all([e2e.open(path), e2e.open(path)])
    if (!a || !b) throw new Error('no tabs')
    const total = 300
    const ids = await a.evaluate((n) => window.tab.dispatch(n), total)
    // Cross-tab wake-ups come with BroadcastChannel; started after the dispatch, both claim.
    await Promise.all([a.evaluate(() => window.tab.start()), b.evaluate(() => window.tab.start())])
    await expect.poll(() => a.evaluate(() => window.tab.succeeded()), { interval: 100, timeout: 20_000 }).toBe(total)
    const [ranA, ranB] = await Promise.all([a.evaluate(() => window.tab.ran()), b.evaluate(() => window.tab.ran())])
    expect(ranA.length + ranB.length).toBe(total)
    expect(new Set([...ranA, ...ranB])).toEqual(new Set(ids))
    expect(ranA.length).toBeGreaterThan(0)
    expect(ranB.length).toBeGreaterThan(0)
    expect(e2e.pageErrors).toEqual([])
  }, 30_000)
})
