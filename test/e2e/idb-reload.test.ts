import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reload, startE2E, type E2E } from './harness.js'

describe('IndexedDB store across a page reload (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it('runs a job dispatched before the reload after it', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`/test/e2e/pages/idb-reload.html?db=reload-${Date.now()}`)
    const before = await page.evaluate(() => window.e2e.loadedAt)
    const id = await page.evaluate(() => window.e2e.dispatch({ photo: 'cat.jpg' }))
    expect(await page.evaluate((id) => window.e2e.getJob(id), id)).toMatchObject({ state: 'waiting' })
    await reload(page)
    const after = await page.evaluate(() => window.e2e.loadedAt)
    expect(after).not.toBe(before)
    const done = await page.evaluate((id) => window.e2e.runUntilDone(id), id)
    expect(done).toMatchObject({ id, state: 'succeeded', result: { echoed: { photo: 'cat.jpg' }, ranInPageLoadedAt: after } })
    expect(e2e.pageErrors).toEqual([])
  }, 30_000)
})
