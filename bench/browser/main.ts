/**
 * `npm run bench:browser`: serves the bench page with Vite on 127.0.0.1, opens it in the
 * system Chromium through Playwright, runs each subject in a fresh browser context (its own
 * IndexedDB and OPFS), and prints the tables. `npm run bench:browser -- ferry:idb` runs only
 * the subjects named, `BENCH_SMOKE=1` runs every size at a tenth; either writes nothing.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { createServer } from 'vite'
import { goalsTable } from '../lib/goals.js'
import { ensureBenchDeps } from '../lib/install.js'
import { LoadSampler, chromiumVersion, machineHeader } from '../lib/machine.js'
import type { Row } from '../lib/result.js'
import { now } from '../lib/stats.js'
import { allTables } from '../lib/table.js'
import { BROWSER_GOALS } from './goals.js'
import { BROWSER_METHOD } from './method.js'

const SUBJECTS = ['ferry:idb', 'raw:idb', 'raw:idb-ahead', 'workbox', 'ferry:opfs', 'raw:opfs', 'raw:opfs-ahead']
/** A subject still running after this is reported as unavailable, so a run always ends. */
const SUBJECT_LIMIT_MS = 240_000
const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

const SMOKE = process.env['BENCH_SMOKE'] === '1'
const only = process.argv.slice(2)
const names = only.length > 0 ? only : SUBJECTS
for (const n of names) if (!SUBJECTS.includes(n)) throw new Error(`no subject ${n}; known: ${SUBJECTS.join(', ')}`)

ensureBenchDeps()
// Workbox checks its arguments and logs in development builds; users ship production ones.
process.env['NODE_ENV'] = 'production'
const root = fileURLToPath(new URL('.', import.meta.url))
const repo = fileURLToPath(new URL('../..', import.meta.url))
const server = await createServer({
  configFile: false,
  root,
  mode: 'production',
  logLevel: 'warn',
  // No watching, no HMR: a file saved in the tree mid-run must not reload the page.
  server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, fs: { allow: [repo] } },
  // SQLite WASM finds its .wasm file next to its module: Vite must serve the package as is.
  // The rest is pre-bundled at start: a dependency found later reloads the page mid-run.
  optimizeDeps: {
    exclude: ['@sqlite.org/sqlite-wasm'],
    include: ['idb', 'nanoid', 'croner', 'workbox-background-sync'],
    entries: ['index.html', 'opfs.worker.ts'],
  },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
})
await server.listen()
const url = server.resolvedUrls?.local[0]
if (url === undefined) throw new Error('vite did not say where it listens')

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--enable-precise-memory-info', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
})
const rows: Row[] = []
const load = new LoadSampler()
const t0 = now()
try {
  const warmup = await browser.newPage()
  await warmup.goto(`${url}index.html`)
  await warmup.waitForFunction(() => 'ferryBench' in window, undefined, { timeout: 60_000 })
  await warmup.evaluate(() => window.ferryBench.warm())
  await warmup.waitForTimeout(2000)
  await warmup.close()
  for (const name of names) {
    const started = now()
    load.sample()
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`))
    page.on('console', (msg) => console.error(`  ${name}: ${msg.text()}`))
    try {
      await page.goto(`${url}index.html${SMOKE ? '?smoke' : ''}`)
      await page.waitForFunction(() => 'ferryBench' in window, undefined, { timeout: 60_000 })
      const stuck = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer from the page within ${SUBJECT_LIMIT_MS / 1000 + 20} s`)), SUBJECT_LIMIT_MS + 20_000).unref(),
      )
      const evaluated = page.evaluate(async ([n, limitMs]) => {
        const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`did not finish within ${limitMs / 1000} s`)), limitMs))
        return Promise.race([window.ferryBench.run(n), late])
      }, [name, SUBJECT_LIMIT_MS] as const)
      rows.push(...(await Promise.race([evaluated, stuck])))
    } catch (err) {
      rows.push({ scenario: 'dispatch-one', subject: name, kind: 'peer', unavailable: err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err) })
    } finally {
      await context.close()
    }
    console.error(`bench:browser: ${name} done in ${((now() - started) / 1000).toFixed(1)} s`)
  }
} finally {
  await browser.close()
  await server.close()
}

const command = `${SMOKE ? 'BENCH_SMOKE=1 ' : ''}npm run bench:browser${only.length > 0 ? ` -- ${only.join(' ')}` : ''}`
const report = [
  machineHeader('ferry benchmarks: Chromium', command, [`Browser: ${chromiumVersion(executablePath)}, headless, driven by Playwright; pages served by Vite on 127.0.0.1`, `Full run took ${Math.round((now() - t0) / 1000)} s`, load.line()]),
  '## Speed goals',
  goalsTable(BROWSER_GOALS, rows),
  '## Results',
  allTables(rows),
  '## Method',
  BROWSER_METHOD,
].join('\n\n')
console.log(report)
if (only.length === 0 && !SMOKE) writeFileSync(new URL('../results/browser.md', import.meta.url), `${report}\n`)
