/**
 * Chromium profiles: the profile page served by Vite, opened in the system Chromium through
 * Playwright, one fresh context per run, traced with the V8 sampling profiler. The trace holds
 * every thread's samples; the run's marks say which thread ran it and when.
 *
 * @module
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright'
import { createServer, type ViteDevServer } from 'vite'
import type { Frame } from './categories.js'
import { MARKS, type BrowserRun } from './browser/marks.js'
import type { ProfileRun } from './run.js'
import { summarize, type Summary } from './summary.js'

const CATEGORIES = ['disabled-by-default-v8.cpu_profiler', 'blink.user_timing', '__metadata']

interface TraceEvent {
  name: string
  cat?: string
  ph: string
  pid: number
  tid: number
  ts: number
  id?: string
  args?: {
    data?: {
      startTime?: number
      cpuProfile?: { nodes?: { id: number; callFrame: Partial<Frame> }[]; samples?: number[] }
      timeDeltas?: number[]
    }
  }
}

export interface Chromium {
  profile(run: BrowserRun): Promise<{ run: ProfileRun; summary: Summary }>
  version(): string
  close(): Promise<void>
}

export async function openChromium(executablePath: string): Promise<Chromium> {
  const root = fileURLToPath(new URL('./browser/', import.meta.url))
  const repo = fileURLToPath(new URL('../..', import.meta.url))
  // node_modules may be a link to another checkout's: Vite serves files by their real path.
  const modules = realpathSync(new URL('../../node_modules', import.meta.url))
  // A cache of its own: node_modules may be shared with another checkout that runs Vite too.
  const cacheDir = mkdtempSync(join(tmpdir(), 'ferry-profile-vite-'))
  const server: ViteDevServer = await createServer({
    configFile: false,
    root,
    cacheDir,
    mode: 'production',
    logLevel: 'warn',
    // No watching, no HMR: a file saved in the tree mid-run must not reload the page.
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, fs: { allow: [repo, modules] } },
    // No discovery: a dependency found mid-run would reload the page. Those listed are
    // pre-bundled; the rest (all ESM) are served as they are.
    optimizeDeps: { noDiscovery: true, exclude: ['@sqlite.org/sqlite-wasm'], include: ['idb', 'nanoid', 'croner'] },
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  })
  await server.listen()
  const url = server.resolvedUrls?.local[0]
  if (url === undefined) throw new Error('vite did not say where it listens')
  const browser: Browser = await chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
  })
  const open = async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`))
    await page.goto(`${url}index.html`)
    await page.waitForFunction(() => 'ferryProfile' in window, undefined, { timeout: 60_000 })
    return { context, page }
  }
  // Vite's optimiser sees every module once before any traced run.
  const warm = await open()
  await warm.page.evaluate(() => window.ferryProfile.ready())
  await warm.context.close()
  return {
    version: () => browser.version(),
    profile: async (r) => {
      const { context, page } = await open()
      try {
        await browser.startTracing(page, { categories: CATEGORIES })
        const run = await page.evaluate((x) => window.ferryProfile.run(x), r)
        const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] }
        return { run, summary: fromTrace(trace.traceEvents) }
      } finally {
        await context.close()
      }
    },
    close: async () => {
      await browser.close()
      await server.close()
      rmSync(cacheDir, { recursive: true, force: true })
    },
  }
}

/** The samples of the thread that marked the run, cut to its marks. */
function fromTrace(events: TraceEvent[]): Summary {
  const start = events.find((e) => e.name === MARKS.start)
  const end = events.find((e) => e.name === MARKS.end)
  if (!start || !end) throw new Error('the trace has no marks around the run')
  const profiles = new Map<string, { tid: number; startTime: number; nodes: Map<number, Frame>; samples: number[]; timeDeltas: number[] }>()
  const key = (e: TraceEvent) => `${e.pid}:${e.id ?? ''}`
  for (const e of events) {
    if (e.name === 'Profile') profiles.set(key(e), { tid: e.tid, startTime: e.args?.data?.startTime ?? e.ts, nodes: new Map(), samples: [], timeDeltas: [] })
  }
  for (const e of events.filter((x) => x.name === 'ProfileChunk').sort((a, b) => a.ts - b.ts)) {
    const p = profiles.get(key(e))
    const data = e.args?.data
    if (!p || !data) continue
    for (const n of data.cpuProfile?.nodes ?? []) p.nodes.set(n.id, { functionName: n.callFrame.functionName ?? '', url: n.callFrame.url ?? '', lineNumber: n.callFrame.lineNumber })
    p.samples.push(...(data.cpuProfile?.samples ?? []))
    p.timeDeltas.push(...(data.timeDeltas ?? []))
  }
  const window = { start: start.ts, end: end.ts }
  const mine = [...profiles.entries()].find(([k, p]) => k.startsWith(`${start.pid}:`) && p.tid === start.tid)?.[1]
  if (!mine) throw new Error(`the trace has no samples of the thread that ran the jobs (pid ${start.pid}, tid ${start.tid})`)
  return summarize(mine, window)
}
