import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type BrowserContext, type Page } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from './harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The browser's main process: the one started with this profile that is no child (no --type=). */
function browserPid(profile: string): number {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
  for (const line of out.split('\n')) {
    const [pid, ...args] = line.trim().split(/\s+/)
    const cmd = args.join(' ')
    if (cmd.includes(`--user-data-dir=${profile}`) && !cmd.includes('--type=')) return Number(pid)
  }
  throw new Error(`no browser process with profile ${profile}`)
}

describe('a browser killed and restarted with jobs running on IndexedDB (Chromium, end to end)', () => {
  let server: ViteDevServer | undefined
  let origin = ''
  let profile = ''
  const contexts: BrowserContext[] = []
  beforeAll(async () => {
    server = await createServer({
      root,
      configFile: false,
      logLevel: 'error',
      cacheDir: 'node_modules/.vite-e2e',
      optimizeDeps: { noDiscovery: true, include: [] },
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    })
    await server.listen()
    origin = `http://127.0.0.1:${(server.httpServer?.address() as AddressInfo).port}`
    profile = mkdtempSync(join(tmpdir(), 'ferry-liveness-profile-'))
  }, 30_000)
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined)
    await server?.close()
    rmSync(profile, { recursive: true, force: true })
  })

  /** Launches the browser on the one profile kept across restarts, and opens the page. */
  async function launch(path: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
    })
    contexts.push(context)
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(`${origin}${path}`)
    await page.waitForFunction(() => (window as { e2eReady?: boolean }).e2eReady === true)
    return { context, page }
  }

  it('resumes the jobs as soon as the engine starts again, not after their 30 s leases', async () => {
    const path = `/test/e2e/pages/liveness.html?db=liveness-restart-${Date.now()}`
    const first = await launch(path)
    const ids = await first.page.evaluate(() => window.live.dispatch(3))
    await first.page.evaluate(() => window.live.start())
    await expect.poll(() => first.page.evaluate(() => window.live.hung().length), { interval: 50, timeout: 10_000 }).toBe(3)
    const closed = new Promise((resolve) => first.context.once('close', resolve))
    process.kill(browserPid(profile), 'SIGKILL')
    await closed

    const second = await launch(path)
    expect(await second.page.evaluate(() => window.live.ran())).toEqual([])
    await second.page.evaluate(() => window.live.start())
    await expect.poll(() => second.page.evaluate(() => window.live.ran().length), { interval: 20, timeout: 20_000 }).toBe(3)
    const ran = await second.page.evaluate(() => window.live.ran())
    const ms = Math.max(...ran.map((r) => r.sinceStart))
    console.log(`browser killed (SIGKILL) and restarted: its ${ran.length} running jobs ran again ${ms.toFixed(1)} ms after start()`)
    expect(new Set(ran.map((r) => r.id))).toEqual(new Set(ids))
    expect(ran.every((r) => r.attempt === 2)).toBe(true)
    expect((await second.page.evaluate(() => window.live.stalled())).sort()).toEqual([...ids].sort())
    expect(ms).toBeLessThan(5000)
  }, 90_000)
})
