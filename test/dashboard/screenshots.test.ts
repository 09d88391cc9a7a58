/**
 * Screenshots of <ferry-dashboard>, light and dark, over a realistic mix of jobs. They go to
 * test-results/dashboard/; with FERRY_UPDATE_SCREENSHOTS=1 also to docs/images/, the README's.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from '../e2e/harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const out = `${root}test-results/dashboard`
const docs = `${root}docs/images`

describe('screenshots of the dashboard (Chromium)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it("shows a realistic mix of jobs, a chain and a batch, versions and a job's details, in light and in dark", async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/dashboard/pages/screenshot.html')
    await page.setViewportSize({ width: 1100, height: 900 })
    const dashboard = page.locator('ferry-dashboard')
    const text = (await dashboard.evaluate((el) => el.shadowRoot?.textContent ?? '')) ?? ''
    expect(text).toContain('album thumbnails')
    expect(text).toContain('413 Payload Too Large')
    expect(text).toContain('1.4.1 → 1.4.2')
    expect(text).toContain('u_8812')
    await mkdir(out, { recursive: true })
    for (const theme of ['light', 'dark'] as const) {
      await page.evaluate((t) => {
        document.body.className = t
        document.querySelector('ferry-dashboard')?.setAttribute('theme', t)
      }, theme)
      // One frame for the theme to apply.
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)))
      const file = `${out}/dashboard-${theme}.png`
      await dashboard.screenshot({ path: file })
      expect((await stat(file)).size).toBeGreaterThan(10_000)
      if (process.env['FERRY_UPDATE_SCREENSHOTS'] === '1') {
        await mkdir(docs, { recursive: true })
        await copyFile(file, `${docs}/dashboard-${theme}.png`)
      }
    }
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)
})
