import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'

describe('a tab closed mid-job (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it('has its jobs taken over by another tab at once, not after their 30 s leases', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const path = `/test/e2e/pages/liveness.html?db=liveness-tabs-${Date.now()}`
    const a = await e2e.open(path)
    const ids = await a.evaluate(() => window.live.dispatch(3))
    await a.evaluate(() => window.live.start())
    await expect.poll(() => a.evaluate(() => window.live.hung().length), { interval: 50, timeout: 10_000 }).toBe(3)
    const b = await e2e.open(path)
    expect(await b.evaluate(() => window.live.hasWebLocks())).toBe(true)
    await b.evaluate(() => window.live.start())
    // Tab A is alive: tab B leaves its jobs alone.
    await new Promise((r) => setTimeout(r, 500))
    expect(await b.evaluate(() => window.live.ran())).toEqual([])
    const closedAt = Date.now()
    await a.close()
    await expect.poll(() => b.evaluate(() => window.live.ran().length), { interval: 20, timeout: 20_000 }).toBe(3)
    const ran = await b.evaluate(() => window.live.ran())
    const ms = Math.max(...ran.map((r) => r.at)) - closedAt
    console.log(`tab closed mid-job: another tab ran its ${ran.length} jobs ${ms} ms after the close`)
    expect(new Set(ran.map((r) => r.id))).toEqual(new Set(ids))
    expect(ran.every((r) => r.attempt === 2)).toBe(true)
    expect((await b.evaluate(() => window.live.stalled())).sort()).toEqual([...ids].sort())
    expect(ms).toBeLessThan(5000)
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)
})
