import type { Page } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reload, startE2E, type E2E } from './harness.js'
import type { WorkerOpfsApi } from './pages/worker-opfs.js'

type W = { app: WorkerOpfsApi }
const app = (p: Page) => ({
  pause: () => p.evaluate(() => (window as unknown as W).app.pause()),
  dispatch: (n: number) => p.evaluate((n) => (window as unknown as W).app.dispatch(n), n),
  counts: () => p.evaluate(() => (window as unknown as W).app.counts()),
  finalOf: (id: string) => p.evaluate((id) => (window as unknown as W).app.finalOf(id), id),
  kinds: () => p.evaluate(() => (window as unknown as W).app.kinds()),
  missingBatch: () => p.evaluate(() => (window as unknown as W).app.missingBatch()),
})

describe('a queue on OPFS SQLite in a dedicated Worker, driven from the page (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it('runs what the page dispatches, streams its events, keeps error classes, and keeps jobs across a reload', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open('/test/e2e/pages/worker-opfs.html')
    const [first] = await app(page).dispatch(1)
    expect(await app(page).finalOf(first ?? '')).toMatchObject({ state: 'succeeded', result: 'ok' })
    await expect.poll(() => app(page).kinds()).toEqual(expect.arrayContaining(['job:dispatched', 'job:started', 'job:succeeded']))
    expect(await app(page).missingBatch()).toEqual({ name: 'NotFoundError', code: 'NOT_FOUND', isQueueError: true })

    // Paused, the jobs wait; the page reloads; the new worker opens the same file and runs them.
    await app(page).pause()
    const ids = await app(page).dispatch(20)
    expect(await app(page).counts()).toMatchObject({ waiting: 20, succeeded: 1 })
    await reload(page)
    await expect.poll(async () => (await app(page).counts()).succeeded, { interval: 100, timeout: 20_000 }).toBe(21)
    expect(await app(page).finalOf(ids[19] ?? '')).toMatchObject({ state: 'succeeded' })
    expect(e2e.pageErrors).toEqual([])
  }, 60_000)
})
