/**
 * A full origin in Chromium: the origin's quota made small through the DevTools protocol
 * (`Storage.overrideQuotaForOrigin`), then filled through the engine on IndexedDB. Unlike
 * test/browser/idb-quota.browser.test.ts (a storage bucket's quota, the application filling
 * it), here ferry's own jobs fill the whole origin.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startE2E, type E2E } from './harness.js'

const PAYLOAD = 50_000

describe('a full origin under the IndexedDB store (Chromium, end to end)', () => {
  // A browser of its own per test: the usage that the quota is set from is the test's alone.
  let e2e: E2E | undefined
  beforeEach(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterEach(async () => {
    await e2e?.close()
  })

  it('refuses dispatch with StorageFullError, loses nothing stored, reports every failed claim of the engine, and runs every job once there is room; retention then makes room for dispatch', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`/test/e2e/pages/storage-full.html?db=full-${Date.now()}`)
    const cdp = await e2e.context.newCDPSession(page)
    const usage = await page.evaluate(() => window.e2eFull.usage())
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 2_000_000 })
    try {
      const filled = await page.evaluate((size) => window.e2eFull.fill(size, 400), PAYLOAD)
      expect(filled.ids.length).toBeGreaterThan(5)
      expect(filled.error).toMatchObject({ name: 'StorageFullError', code: 'STORAGE_FULL', isStorageFull: true })
      // Everything acknowledged is there, whole.
      expect(await page.evaluate(() => window.e2eFull.counts())).toMatchObject({ waiting: filled.ids.length, succeeded: 0, failed: 0 })
      expect(await page.evaluate((ids) => window.e2eFull.damaged(ids), filled.ids)).toEqual([])

      // A claim rewrites the job's record, payload and all, so it does not fit where the
      // dispatch of that job would not: the engine says so and keeps trying, and nothing stored
      // is lost (a job it did get to run succeeded, and retention deleted it).
      await page.evaluate(() => window.e2eFull.start())
      await expect.poll(async () => (await page.evaluate(() => window.e2eFull.progress())).errors.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(2)
      const during = await page.evaluate(() => window.e2eFull.progress())
      for (const error of during.errors) expect(error).toMatchObject({ name: 'StorageFullError', code: 'STORAGE_FULL' })
      const counts = await page.evaluate(() => window.e2eFull.counts())
      expect(counts.waiting + counts.active + during.succeeded).toBe(filled.ids.length)
      expect(counts).toMatchObject({ failed: 0, cancelled: 0 })
      expect(await page.evaluate((ids) => window.e2eFull.damaged(ids), filled.ids)).toHaveLength(during.succeeded)

      // Space is freed: the same engine, never restarted, runs every job, and retention (which
      // keeps no succeeded job) deletes each one as it succeeds.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 100_000_000 })
      await expect.poll(() => page.evaluate(() => window.e2eFull.counts()), { timeout: 30_000 }).toMatchObject({ waiting: 0, active: 0, succeeded: 0, failed: 0 })
      expect((await page.evaluate(() => window.e2eFull.progress())).succeeded).toBe(filled.ids.length)

      // Back to the small quota: the jobs retention deleted made room, dispatch works again.
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 2_000_000 })
      // Room again: dispatch works.
      const after = await page.evaluate((size) => window.e2eFull.fill(size, 3), PAYLOAD)
      expect(after).toMatchObject({ ids: [expect.any(String), expect.any(String), expect.any(String)] })
      expect(after.error).toBeUndefined()
      expect(e2e.pageErrors).toEqual([])
    } finally {
      await page.evaluate(() => window.e2eFull.close()).catch(() => undefined)
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin }).catch(() => undefined)
    }
  }, 90_000)

  it('frees a full origin with prune: the finished jobs are deleted, the waiting ones intact, and dispatch works again', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`/test/e2e/pages/storage-full.html?keep=all&db=full-prune-${Date.now()}`)
    const cdp = await e2e.context.newCDPSession(page)
    const usage = await page.evaluate(() => window.e2eFull.usage())
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 2_000_000 })
    try {
      // Jobs that ran and are kept, then waiting ones up to the quota.
      const done = await page.evaluate((size) => window.e2eFull.fill(size, 20), PAYLOAD)
      await page.evaluate(() => window.e2eFull.start())
      await page.evaluate((n) => window.e2eFull.succeeded(n), done.ids.length)
      await page.evaluate(() => window.e2eFull.stop())
      const filled = await page.evaluate((size) => window.e2eFull.fill(size, 400), PAYLOAD)
      expect(filled.error).toMatchObject({ code: 'STORAGE_FULL' })

      expect(await page.evaluate(() => window.e2eFull.prune())).toBe(done.ids.length)
      expect(await page.evaluate(() => window.e2eFull.counts())).toMatchObject({ waiting: filled.ids.length, succeeded: 0 })
      expect(await page.evaluate((ids) => window.e2eFull.damaged(ids), filled.ids)).toEqual([])
      const after = await page.evaluate((size) => window.e2eFull.fill(size, 3), PAYLOAD)
      expect(after.error).toBeUndefined()
      expect(after.ids).toHaveLength(3)
      expect(e2e.pageErrors).toEqual([])
    } finally {
      await page.evaluate(() => window.e2eFull.close()).catch(() => undefined)
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin }).catch(() => undefined)
    }
  }, 90_000)

  it('OPFS SQLite in a worker under the same quota: dispatch fails with StorageFullError and writes nothing, nothing stored is lost, and dispatch works once there is room', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/storage-full-opfs.html')
    const cdp = await e2e.context.newCDPSession(page)
    // The database exists (its pool of OPFS files is made) before the quota is set.
    const first = await page.evaluate(() => window.e2eOpfs.fill(10, 1))
    expect(first.error).toBeUndefined()
    const usage = await page.evaluate(() => window.e2eOpfs.usage())
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 2_000_000 })
    try {
      const filled = await page.evaluate((size) => window.e2eOpfs.fill(size, 400), PAYLOAD)
      expect(filled.ids.length).toBeGreaterThan(5)
      // The OPFS VFS of SQLite turns the refused write into SQLITE_IOERR; the store tells it from
      // another I/O error by the origin's usage, at its quota.
      expect(filled.error).toMatchObject({ name: 'StorageFullError', code: 'STORAGE_FULL', isStorageFull: true, isStorageError: true })
      expect(await page.evaluate(() => window.e2eOpfs.counts())).toMatchObject({ waiting: first.ids.length + filled.ids.length })
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin, quotaSize: usage + 100_000_000 })
      const after = await page.evaluate((size) => window.e2eOpfs.fill(size, 3), PAYLOAD)
      expect(after.error).toBeUndefined()
      expect(await page.evaluate(() => window.e2eOpfs.counts())).toMatchObject({ waiting: first.ids.length + filled.ids.length + 3 })
      expect(e2e.pageErrors).toEqual([])
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: e2e.origin }).catch(() => undefined)
    }
  }, 90_000)
})
