/**
 * The web demo (`npm run demo:web`) end to end, on each store: its own Vite server (the config
 * the command uses, with the upload server in it) and the system Chromium, driven through the
 * page's controls as a user would.
 */
import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Received } from '../../demo/web/server.js'
import { CHROMIUM_ARGS } from './harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const SAMPLES = 20
/** Generous: the machine is slow and shared. */
const SETTLE = { timeout: 120_000, interval: 250 }
const SCREENSHOT_DIR = `${root}test-results/demo-web`

type Counts = Record<'blocked' | 'waiting' | 'delayed' | 'active' | 'succeeded' | 'failed' | 'cancelled', number>

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function startDemo(): Promise<{ server: ViteDevServer; origin: string }> {
  const server = await createServer({
    configFile: `${root}demo/web/vite.config.ts`,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  })
  await server.listen()
  const { port } = server.httpServer?.address() as AddressInfo
  return { server, origin: `http://127.0.0.1:${port}` }
}

/** Waits until the page's outbox is connected to its engine. */
async function ready(page: Page): Promise<void> {
  await page.waitForSelector('main[data-ready="true"]', { timeout: 120_000 })
}

/** The outbox counts the page shows. */
async function counts(page: Page): Promise<Counts> {
  return page.$eval('#counts', (el) => {
    const d = (el as HTMLElement).dataset
    const n = (k: string): number => Number(d[k] ?? NaN)
    return {
      blocked: n('blocked'),
      waiting: n('waiting'),
      delayed: n('delayed'),
      active: n('active'),
      succeeded: n('succeeded'),
      failed: n('failed'),
      cancelled: n('cancelled'),
    }
  })
}

async function setRange(page: Page, selector: string, value: number): Promise<void> {
  await page.$eval(
    selector,
    (el, v) => {
      const input = el as HTMLInputElement
      input.value = String(v)
      input.dispatchEvent(new Event('input', { bubbles: true }))
      input.dispatchEvent(new Event('change', { bubbles: true }))
    },
    value,
  )
}

describe.each([
  { store: 'idb', label: 'IndexedDB' },
  { store: 'opfs', label: 'OPFS SQLite' },
] as const)('the web demo on $label', ({ store }) => {
  let server: ViteDevServer | undefined
  let origin = ''
  let browser: Browser | undefined
  let context: BrowserContext
  let page: Page
  let second: Page | undefined
  const pageErrors: Error[] = []
  /** Photos added so far, and albums (one per "add" click). */
  let photos = 0
  let albums = 0

  const received = async (): Promise<Received> => (await fetch(`${origin}/api/photos`)).json() as Promise<Received>
  const open = async (): Promise<Page> => {
    const p = await context.newPage()
    p.on('pageerror', (err) => pageErrors.push(err))
    await p.goto(origin)
    await ready(p)
    return p
  }
  /** Clicks "add 20 sample photos" and waits until the page says they are in the outbox. */
  const addSamples = async (p: Page): Promise<void> => {
    const before = await p.$eval('#added', (el) => Number((el as HTMLElement).dataset['count']))
    await p.click('#add-samples')
    await p.waitForFunction((n) => Number(document.querySelector<HTMLElement>('#added')?.dataset['count']) === n, before + SAMPLES, { timeout: 120_000 })
    photos += SAMPLES
    albums++
  }
  /** Every photo and album summary arrived, stored once each, and the outbox shows them done. */
  const allArrived = async (p: Page, settle = SETTLE): Promise<void> => {
    await expect.poll(async () => (await received()).photos.length, settle).toBe(photos)
    await expect.poll(async () => (await received()).albums.length, SETTLE).toBe(albums)
    await expect.poll(async () => (await counts(p)).succeeded, SETTLE).toBe(photos + albums)
    const r = await received()
    expect(new Set(r.photos.map((x) => x.id)).size).toBe(photos)
    expect(r.photos.every((x) => x.size > 0 && /^image\/(png|jpeg)$/.test(x.type))).toBe(true)
    const c = await counts(p)
    expect(c.failed).toBe(0)
    expect(c.waiting + c.delayed + c.active).toBe(0)
  }

  beforeAll(async () => {
    ;({ server, origin } = await startDemo())
    browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  }, 120_000)

  afterAll(async () => {
    await browser?.close().catch(() => undefined)
    await server?.close().catch(() => undefined)
  })

  it('opens on the chosen store, online and empty', async () => {
    page = await open()
    if (store === 'opfs') {
      await page.check('input[name="store"][value="opfs"]')
      await page.waitForSelector('main[data-store="opfs"][data-ready="true"]', { timeout: 120_000 })
    }
    expect(await page.getAttribute('main', 'data-store')).toBe(store)
    expect(await page.isChecked(`input[name="store"][value="${store}"]`)).toBe(true)
    await page.waitForSelector('#engine[data-online="true"]', { timeout: 60_000 })
    expect(await counts(page)).toEqual({ blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 })
    expect((await received()).photos).toEqual([])

    // The browser going offline takes the engine offline too, whatever the switch says.
    await context.setOffline(true)
    await page.waitForSelector('#engine[data-online="false"]', { timeout: 60_000 })
    await context.setOffline(false)
    await page.waitForSelector('#engine[data-online="true"]', { timeout: 60_000 })
  }, 240_000)

  it('keeps photos waiting while the network is off, and uploads them when it is back', async () => {
    await page.setChecked('#network', false)
    await page.waitForSelector('#engine[data-online="false"]', { timeout: 60_000 })
    await expect.poll(async () => (await received()).settings.online, SETTLE).toBe(false)

    await addSamples(page)
    await expect.poll(async () => (await counts(page)).waiting, SETTLE).toBe(SAMPLES)
    // Offline is not a failure: after a while they are still all waiting, and nothing was sent.
    await sleep(3000)
    expect(await counts(page)).toMatchObject({ waiting: SAMPLES, active: 0, delayed: 0, failed: 0, succeeded: 0 })
    expect((await received()).photos).toEqual([])

    await page.setChecked('#network', true)
    await page.waitForSelector('#engine[data-online="true"]', { timeout: 60_000 })
    await allArrived(page)
    // The album's settled callback sent its summary, with the batch's counts filled in.
    expect((await received()).albums[0]?.summary).toMatchObject({ photos: SAMPLES, succeeded: SAMPLES, failed: 0 })
    await page.waitForFunction((n) => document.querySelectorAll('#received [data-photo-id]').length === n, photos, { timeout: 60_000 })
  }, 300_000)

  it('retries refused uploads at the highest failure rate until each photo arrives exactly once', async () => {
    const max = Number(await page.getAttribute('#failure-rate', 'max'))
    expect(max).toBeGreaterThanOrEqual(0.9)
    await setRange(page, '#latency', 100)
    await setRange(page, '#failure-rate', max)
    await expect.poll(async () => (await received()).settings, SETTLE).toMatchObject({ failureRate: max, latencyMs: 100 })
    const before = new Set((await received()).photos.map((p) => p.id))

    await addSamples(page)
    // Nine in ten uploads are refused: each photo takes ten tries on average, a second or two apart.
    await allArrived(page, { timeout: 480_000, interval: 1000 })
    const fresh = (await received()).photos.filter((p) => !before.has(p.id))
    expect(fresh).toHaveLength(SAMPLES)
    // Some uploads were refused and sent again; each photo is stored once all the same.
    expect(fresh.reduce((n, p) => n + p.puts, 0)).toBeGreaterThan(SAMPLES)

    await setRange(page, '#failure-rate', 0)
    await setRange(page, '#latency', 0)
    await expect.poll(async () => (await received()).settings, SETTLE).toMatchObject({ failureRate: 0, latencyMs: 0 })
  }, 600_000)

  it('loses nothing when the page reloads in the middle of uploading', async () => {
    await setRange(page, '#latency', 600)
    await expect.poll(async () => (await received()).settings.latencyMs, SETTLE).toBe(600)
    const before = (await received()).photos.length

    await addSamples(page)
    await expect.poll(async () => (await received()).photos.length, SETTLE).toBeGreaterThan(before)
    expect((await received()).photos.length).toBeLessThan(before + SAMPLES)
    await page.reload()
    await ready(page)

    await allArrived(page)
    await setRange(page, '#latency', 0)
    await expect.poll(async () => (await received()).settings.latencyMs, SETTLE).toBe(0)
  }, 300_000)

  it('refuses a photo over 10 MB with a message, and adds the others picked with it', async () => {
    const before = await page.$eval('#added', (el) => Number((el as HTMLElement).dataset['count']))
    await page.evaluate(() => {
      const picked = new DataTransfer()
      picked.items.add(new File([new Uint8Array(10 * 1024 * 1024 + 1)], 'huge.jpg', { type: 'image/jpeg' }))
      picked.items.add(new File([new Uint8Array(100)], 'small.jpg', { type: 'image/jpeg' }))
      const input = document.querySelector<HTMLInputElement>('#files')!
      input.files = picked.files
      input.dispatchEvent(new Event('change'))
    })
    await page.waitForSelector('p.error:has-text("huge.jpg (10.0 MB) not added: this demo takes photos of up to 10.0 MB")', { timeout: 60_000 })
    await page.waitForFunction((n) => Number(document.querySelector<HTMLElement>('#added')?.dataset['count']) === n, before + 1, { timeout: 60_000 })
    photos++
    albums++
    await allArrived(page)
    expect((await received()).photos.at(-1)).toMatchObject({ name: 'small.jpg', size: 100 })
  }, 180_000)

  it('shows the same outbox in a second tab, which carries on when the first closes', async () => {
    second = await open()
    expect(await second.getAttribute('main', 'data-store')).toBe(store)
    // On OPFS the first tab hosts the engine and the second is its client; on IndexedDB each
    // tab runs an engine of its own on the one database.
    await second.waitForSelector(`#engine[data-host="${store === 'opfs' ? 'false' : 'true'}"]`, { timeout: 60_000 })
    await expect.poll(async () => (await counts(second!)).succeeded, SETTLE).toBe(photos + albums)

    // Added in the second tab: both tabs see them arrive.
    await addSamples(second)
    await allArrived(second)
    await allArrived(page)

    // The network switch is one for every tab.
    await page.setChecked('#network', false)
    await second.waitForSelector('#network:not(:checked)', { timeout: 60_000 })
    await second.waitForSelector('#engine[data-online="false"]', { timeout: 60_000 })
    await second.waitForSelector('ferry-dashboard [part~="network"][data-online="false"]', { timeout: 60_000 })
    await page.setChecked('#network', true)
    await second.waitForSelector('#engine[data-online="true"]', { timeout: 60_000 })

    await page.close()
    // The second tab now runs the engine (on OPFS it took hosting over).
    await second.waitForSelector('#engine[data-host="true"]', { timeout: 60_000 })
    await addSamples(second)
    await allArrived(second)
  }, 360_000)

  it('shows the outbox in the dashboard and keeps a screenshot', async () => {
    const p = second!
    const total = photos + albums
    // Its counts, and its rows, are the outbox's.
    await p.waitForFunction(
      (n) => {
        const count = (state: string): number =>
          Number(document.querySelector('ferry-dashboard')?.shadowRoot?.querySelector<HTMLElement>(`button[part~="count"][data-state="${state}"]`)?.dataset['count'])
        return count('succeeded') === n && count('failed') === 0 && count('waiting') === 0
      },
      total,
      { timeout: 60_000 },
    )
    const rows = await p.$$eval('ferry-dashboard', ([el]) =>
      [...(el?.shadowRoot?.querySelectorAll<HTMLElement>('tr[data-job-id]') ?? [])].map((r) => ({ id: r.dataset['jobId'], state: r.dataset['state'] })),
    )
    expect(rows.length).toBeGreaterThan(0)
    const server = new Set((await received()).photos.map((x) => x.id))
    for (const r of rows) {
      expect(r.state).toBe('succeeded')
      if (r.id?.startsWith('photo-')) expect(server.has(r.id)).toBe(true)
    }
    await p.waitForSelector(`#server-count[data-count="${photos}"]`, { timeout: 60_000 })
    mkdirSync(SCREENSHOT_DIR, { recursive: true })
    await p.screenshot({ path: `${SCREENSHOT_DIR}/${store}.png` })
    if (process.env['FERRY_UPDATE_SCREENSHOTS'] === '1' && store === 'idb') {
      mkdirSync(`${root}docs/images`, { recursive: true })
      await p.screenshot({ path: `${root}docs/images/demo-web.png` })
    }
    expect(pageErrors).toEqual([])
  }, 180_000)

  it('moves every tab to the store another tab chooses', async () => {
    const p = second!
    const other = store === 'opfs' ? 'idb' : 'opfs'
    const third = await open()
    await third.check(`input[name="store"][value="${other}"]`)
    await third.waitForSelector(`main[data-store="${other}"][data-ready="true"]`, { timeout: 120_000 })
    await p.waitForSelector(`main[data-store="${other}"][data-ready="true"]`, { timeout: 120_000 })
    await third.check(`input[name="store"][value="${store}"]`)
    await third.waitForSelector(`main[data-store="${store}"][data-ready="true"]`, { timeout: 120_000 })
    await p.waitForSelector(`main[data-store="${store}"][data-ready="true"]`, { timeout: 120_000 })
    await third.close()
    // Back on the first store: the outbox is as it was.
    await expect.poll(async () => (await counts(p)).succeeded, SETTLE).toBe(photos + albums)
  }, 360_000)

  it('clears the outbox and the server', async () => {
    const p = second!
    await p.click('#clear')
    await expect.poll(async () => (await counts(p)).succeeded, SETTLE).toBe(0)
    await expect.poll(async () => (await received()).photos.length, SETTLE).toBe(0)
    await p.waitForSelector('#server-count[data-count="0"]', { timeout: 60_000 })
    expect(await counts(p)).toEqual({ blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 })
    expect(pageErrors).toEqual([])
    photos = 0
    albums = 0
  }, 180_000)

  it('clears while uploads run, and nothing of the cleared album reaches the server after', async () => {
    const p = second!
    await setRange(p, '#latency', 1000)
    await expect.poll(async () => (await received()).settings.latencyMs, SETTLE).toBe(1000)
    await addSamples(p)
    await expect.poll(async () => (await received()).photos.length, SETTLE).toBeGreaterThan(0)
    expect((await received()).photos.length).toBeLessThan(SAMPLES)

    const before = Number((await p.getAttribute('#clear', 'data-cleared')) ?? 0)
    await p.click('#clear')
    await p.waitForSelector(`#clear[data-cleared="${before + 1}"]`, { timeout: 120_000 })
    // The outbox holds no job that could still send (the album's summary included), and the
    // server kept nothing.
    expect(await counts(p)).toEqual({ blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 })
    expect(await received()).toMatchObject({ photos: [], albums: [] })
    await p.waitForSelector('#server-count[data-count="0"]', { timeout: 60_000 })

    await setRange(p, '#latency', 0)
    await expect.poll(async () => (await received()).settings.latencyMs, SETTLE).toBe(0)
    expect(pageErrors).toEqual([])
  }, 240_000)
})

describe('the web demo when its store cannot open', () => {
  let server: ViteDevServer | undefined
  let browser: Browser | undefined

  afterAll(async () => {
    await browser?.close().catch(() => undefined)
    await server?.close().catch(() => undefined)
  })

  it('says the engine failed to start, and why, instead of waiting for it', async () => {
    let origin: string
    ;({ server, origin } = await startDemo())
    browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const page = await (await browser.newContext()).newPage()
    // A newer version of the app left the outbox's database at a version this one cannot open.
    await page.goto(`${origin}/api/settings`)
    await page.evaluate(
      () =>
        new Promise<void>((resolve, reject) => {
          const open = indexedDB.open('ferry-demo', 1_000_000)
          open.onsuccess = () => {
            open.result.close()
            resolve()
          }
          open.onerror = () => reject(open.error ?? new Error('open failed'))
        }),
    )
    await page.goto(origin)
    await ready(page)
    await page.waitForSelector('#engine[data-failed="true"]', { timeout: 60_000 })
    const status = await page.textContent('#engine')
    expect(status).toMatch(/^The engine failed to start \(IndexedDB\): \w*Error: \S/)
    expect(await page.getAttribute('#engine', 'data-online')).toBe('false')
    expect(await page.isDisabled('#add-samples')).toBe(true)
  }, 240_000)
})
