/**
 * End-to-end harness: a Vite dev server for pages under test/e2e/pages (they import ferry from
 * src/ as TypeScript) and the system Chromium driven by Playwright. What Vitest browser mode
 * cannot do (reload its own page, open several tabs on one origin) is done here.
 *
 * @example
 * const e2e = await startE2E()
 * const page = await e2e.open('/test/e2e/pages/idb-reload.html')
 * await e2e.close()
 *
 * The server also takes uploads: a PUT or POST to `/e2e/upload/<id>` answers 200 and is counted
 * per id in `e2e.uploads`, so a test can tell that each upload arrived, and how many times
 * (`?hold=<ms>` answers late).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright'
import { createServer, type Plugin, type ViteDevServer } from 'vite'

const root = fileURLToPath(new URL('../..', import.meta.url))

/** The flags of the browser project in vitest.config.ts: headless, offline, no sandbox. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
]

export interface E2E {
  /** The server's origin, e.g. http://127.0.0.1:41234 */
  readonly origin: string
  /** One browser context (one profile: tabs in it share IndexedDB, like tabs of one origin). */
  readonly context: BrowserContext
  /** Opens `path` in a new tab and waits until the page sets `window.e2eReady`. */
  open(path: string): Promise<Page>
  /** Uncaught errors of every page opened so far. */
  readonly pageErrors: Error[]
  /** The uploads the server received, by id: how many requests each id came in. */
  readonly uploads: Map<string, number>
  /** Closes the browser and the server; safe to call twice. */
  close(): Promise<void>
}

/**
 * Counts `PUT|POST /e2e/upload/<id>` by id; answers `{ id, n }` (n: the requests of that id
 * answered so far, this one included). With `?hold=<ms>` it waits that long before answering,
 * and counts the request only if the client is still there to get the answer.
 */
function uploadEndpoint(uploads: Map<string, number>): Plugin {
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'PUT' && req.method !== 'POST') {
      res.statusCode = 405
      res.end()
      return
    }
    const url = new URL(req.url ?? '/', 'http://e2e')
    const id = decodeURIComponent(url.pathname.slice(1))
    const hold = Number(url.searchParams.get('hold') ?? 0)
    let gone = false
    res.on('close', () => {
      if (!res.writableFinished) gone = true
    })
    // The body is read to its end before answering, as a real upload endpoint does.
    req.resume()
    req.on('end', () => {
      setTimeout(() => {
        if (gone) return
        const n = (uploads.get(id) ?? 0) + 1
        uploads.set(id, n)
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ id, n }))
      }, hold)
    })
  }
  return {
    name: 'e2e-upload',
    configureServer(s) {
      s.middlewares.use('/e2e/upload', handle)
    },
  }
}

export async function startE2E(): Promise<E2E> {
  const uploads = new Map<string, number>()
  let server: ViteDevServer | undefined
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close().catch(() => undefined)
    await server?.close().catch(() => undefined)
    browser = undefined
    server = undefined
  }
  try {
    server = await createServer({
      root,
      configFile: false,
      logLevel: 'error',
      // Its own cache, apart from Vitest's; packages are ESM and served as they are, so no
      // optimisation pass reloads a page in the middle of a test.
      cacheDir: 'node_modules/.vite-e2e',
      optimizeDeps: { noDiscovery: true, include: [] },
      plugins: [uploadEndpoint(uploads)],
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
    })
    await server.listen()
    const { port } = server.httpServer?.address() as AddressInfo
    const origin = `http://127.0.0.1:${port}`
    browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
    const context = await browser.newContext()
    const pageErrors: Error[] = []
    return {
      origin,
      context,
      pageErrors,
      uploads,
      async open(path) {
        const page = await context.newPage()
        page.on('pageerror', (err) => pageErrors.push(err))
        await page.goto(`${origin}${path}`)
        await page.waitForFunction(() => (window as { e2eReady?: boolean }).e2eReady === true)
        return page
      },
      close,
    }
  } catch (err) {
    await close()
    throw err
  }
}

/** Reloads a page and waits until it is ready again. */
export async function reload(page: Page): Promise<void> {
  await page.reload()
  await page.waitForFunction(() => (window as { e2eReady?: boolean }).e2eReady === true)
}
