import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'

describe('the network state in a page and in a dedicated worker (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it("follows the browser offline and back: no 'online' job runs offline, each runs once online", async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/connectivity.html')
    for (const where of ['page', 'worker'] as const) {
      expect(await page.evaluate((w) => window.conn[w].online(), where)).toBe(true)
    }
    await e2e.context.setOffline(true)
    for (const where of ['page', 'worker'] as const) {
      await expect.poll(() => page.evaluate((w) => window.conn[w].online(), where), { timeout: 5000 }).toBe(false)
      await page.evaluate((w) => window.conn[w].dispatch('upload', `${w}-upload`), where)
      await page.evaluate((w) => window.conn[w].dispatch('local', `${w}-local`), where)
      await expect.poll(() => page.evaluate((w) => window.conn[w].ran(), where), { timeout: 5000 }).toEqual([`${where}-local`])
    }
    await new Promise((r) => setTimeout(r, 300))
    await e2e.context.setOffline(false)
    for (const where of ['page', 'worker'] as const) {
      await expect.poll(() => page.evaluate((w) => window.conn[w].ran(), where), { timeout: 5000 }).toEqual([`${where}-local`, `${where}-upload`])
      expect(await page.evaluate((w) => window.conn[w].events(), where)).toEqual(['queue:offline', 'queue:online'])
      expect(await page.evaluate((w) => window.conn[w].online(), where)).toBe(true)
    }
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)
})
