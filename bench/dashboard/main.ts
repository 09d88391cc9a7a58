/**
 * `npm run bench:dashboard`: does `<ferry-dashboard>` keep the page's frame budget on a big
 * store? Serves the bench page with Vite on 127.0.0.1 and opens it in the system Chromium
 * through Playwright. A dedicated worker loads 100,000 jobs into an IndexedDB store and runs
 * the engine at about 200 jobs/s; the page holds a `connectQueue` client. The page's main
 * thread is measured first with the client only, then with the dashboard on it, in one run;
 * then a CPU profile of the page with the dashboard shows where its time goes. Prints the
 * tables and writes bench/results/dashboard.md (`BENCH_NO_WRITE=1`: print only; `BENCH_SMOKE=1`:
 * a tenth of the finished and delayed jobs, to check the harness, writes nothing).
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type CDPSession } from 'playwright'
import { createServer } from 'vite'
import { LoadSampler, chromiumVersion, machineHeader } from '../lib/machine.js'
import { now } from '../lib/stats.js'
import { PHASE, RUN, seedPlan, seedTotal } from './plan.js'
import { profilePage, type ProfileSummary } from './profile.js'
import type { Sample } from './protocol.js'
import { DETAILED, TASKS, tracePage, type TraceSummary } from './trace.js'
import { byCpu, contentionTable, goalTable, mutationsLine, phaseTable, profileTable, summarize, traceTable, warmupLine, type Phase, type ThreadTime } from './report.js'

const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'
const SMOKE = process.env['BENCH_SMOKE'] === '1'
const WRITE = process.env['BENCH_NO_WRITE'] !== '1' && !SMOKE
const SEED = seedPlan(SMOKE ? 0.1 : 1)
const SEED_TOTAL = seedTotal(SEED)
const root = fileURLToPath(new URL('.', import.meta.url))
const repo = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')
const dashboardFile = join(repo, 'src/dashboard/index.ts')
const log = (m: string) => console.error(`bench:dashboard: ${new Date().toISOString().slice(11, 19)} ${m}`)

function git(...args: string[]): string {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : ''
}

// node_modules may be a link to another checkout's: Vite serves files by their real path.
const modules = realpathSync(join(repo, 'node_modules'))
// A cache of its own: node_modules may be shared with another checkout that runs Vite too.
const cacheDir = mkdtempSync(join(tmpdir(), 'ferry-dashboard-vite-'))
const server = await createServer({
  configFile: false,
  root,
  cacheDir,
  mode: 'production',
  logLevel: 'warn',
  // No watching, no HMR: a file saved in the tree mid-run must not reload the page.
  // Cross-origin isolated: performance.now() and requestAnimationFrame's timestamps then tick
  // in microseconds, not in the 100 µs steps that would make a 16.67 ms frame read 16.6 or 16.8.
  server: {
    host: '127.0.0.1',
    port: 0,
    strictPort: false,
    hmr: false,
    watch: null,
    fs: { allow: [repo, modules] },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  // No discovery: a dependency found mid-run would reload the page. Those listed are
  // pre-bundled; the rest (all ESM) are served as they are.
  optimizeDeps: { noDiscovery: true, exclude: ['@sqlite.org/sqlite-wasm'], include: ['idb', 'nanoid', 'croner', 'comlink', 'rxjs'] },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
})
await server.listen()
const url = server.resolvedUrls?.local[0]
if (url === undefined) throw new Error('vite did not say where it listens')

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
})
const load = new LoadSampler()
const t0 = now()
const dashboardCommit = `${git('log', '-1', '--format=%h %cI', '--', 'src/dashboard') || 'no commit yet'}${git('status', '--porcelain', '--', 'src/dashboard') ? ', with uncommitted changes' : ''}`
let seeded: { ms: number; dispatchedMs: number; ranMs: number } | undefined
let base: Phase | undefined
let dash: Phase | undefined
/** The dashboard with its table filtered to the waiting jobs: the head of the queue, whose rows change at every refresh. */
const FILTER = 'waiting'
let filtered: Phase | undefined
let filteredProfile: ProfileSummary | undefined
let warmup: Sample | undefined
let profile: ProfileSummary | undefined
let mountProfile: ProfileSummary | undefined
let trace: TraceSummary | undefined
let missing: string | undefined
const browserSide = { isolated: false }

async function threadTime(cdp: CDPSession): Promise<ThreadTime> {
  const { metrics } = await cdp.send('Performance.getMetrics')
  const m = (name: string) => (metrics.find((x) => x.name === name)?.value ?? 0) * 1000
  return { task: m('TaskDuration'), script: m('ScriptDuration'), layout: m('LayoutDuration'), style: m('RecalcStyleDuration') }
}
const minus = (a: ThreadTime, b: ThreadTime): ThreadTime => ({ task: a.task - b.task, script: a.script - b.script, layout: a.layout - b.layout, style: a.style - b.style })

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.error(`  page: ${msg.text()}`)
  })
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  await page.goto(`${url}index.html`)
  await page.waitForFunction(() => 'ferryDashboardBench' in window, undefined, { timeout: 60_000 })
  browserSide.isolated = await page.evaluate(() => crossOriginIsolated)
  if (existsSync(dashboardFile)) {
    await page.evaluate((u) => window.ferryDashboardBench.load(u), `/@fs${dashboardFile}`)
  } else {
    missing = 'src/dashboard/index.ts does not exist'
  }

  load.sample()
  log(`loading ${SEED_TOTAL.toLocaleString('en-US')} jobs into IndexedDB…`)
  const s = await page.evaluate((scale) => window.ferryDashboardBench.seed(scale), SMOKE ? 0.1 : 1)
  seeded = s
  log(`loaded in ${(s.ms / 1000).toFixed(1)} s: ${JSON.stringify(s.counts)}`)
  await page.evaluate(() => window.ferryDashboardBench.run())

  const phase = async (o: { mount?: boolean; filter?: string }): Promise<{ warm: Sample; phase: Phase }> => {
    const warm = await page.evaluate(([sec, x]) => window.ferryDashboardBench.measure(sec, x), [PHASE.warmupS, o] as const)
    const before = await threadTime(cdp)
    const { result: sample, trace } = await tracePage(browser, page, TASKS, () => page.evaluate((sec) => window.ferryDashboardBench.measure(sec), PHASE.measureS))
    return { warm, phase: { sample, thread: minus(await threadTime(cdp), before), tasks: trace } }
  }
  const counts = async () => log(`counts: ${JSON.stringify(await page.evaluate(() => window.ferryDashboardBench.counts()))}`)
  const steady = async () => {
    const p = await profilePage(cdp, () => page.waitForTimeout(PHASE.profileS * 1000))
    await counts()
    return p
  }
  load.sample()
  log(`baseline: the client only, ${PHASE.warmupS} s to settle, ${PHASE.measureS} s measured…`)
  base = (await phase({})).phase
  log(`baseline: ${JSON.stringify(summarize(base.sample))}`)
  if (missing === undefined) {
    load.sample()
    log(`with <ferry-dashboard>: mounted, ${PHASE.warmupS} s to settle, ${PHASE.measureS} s measured, ${PHASE.profileS} s profiled…`)
    const d = await phase({ mount: true })
    warmup = d.warm
    dash = d.phase
    log(`dashboard: ${JSON.stringify(summarize(dash.sample))}`)
    profile = await steady()
    load.sample()
    log(`the dashboard filtered to ${FILTER} jobs: ${PHASE.warmupS} s to settle, ${PHASE.measureS} s measured, ${PHASE.profileS} s profiled and traced…`)
    filtered = (await phase({ filter: FILTER })).phase
    log(`filtered: ${JSON.stringify(summarize(filtered.sample))}`)
    await counts()
    filteredProfile = await steady()
    trace = (await tracePage(browser, page, DETAILED, () => page.waitForTimeout(PHASE.profileS * 1000))).trace
    log(`profiling a fresh dashboard's first ${PHASE.profileS} s…`)
    await page.evaluate(() => window.ferryDashboardBench.unmount())
    await page.waitForTimeout(1000)
    mountProfile = await profilePage(cdp, () => page.evaluate((sec) => window.ferryDashboardBench.measure(sec, { mount: true }), PHASE.profileS))
    await counts()
  }
  await context.close()
} finally {
  await browser.close()
  await server.close()
  rmSync(cacheDir, { recursive: true, force: true })
}
if (!base || !seeded) throw new Error('the baseline was not measured')

const command = `${SMOKE ? 'BENCH_SMOKE=1 ' : ''}npm run bench:dashboard`
const budget = (s: Phase | undefined) => (s ? summarize(s.sample) : undefined)
const n = (x: number) => x.toLocaleString('en-US')
const report = [
  machineHeader('ferry benchmark: `<ferry-dashboard>` on a big store, Chromium', command, [
    `Dashboard: src/dashboard at ${dashboardCommit}`,
    `Browser: ${chromiumVersion(executablePath)}, headless (--disable-gpu), driven by Playwright, viewport 1280×800; page served by Vite on 127.0.0.1, ${browserSide.isolated ? 'cross-origin isolated (timestamps in µs)' : 'NOT cross-origin isolated (timestamps in 100 µs steps)'}`,
    `Store: IndexedDB, ${n(SEED_TOTAL)} jobs loaded in ${(seeded.ms / 1000).toFixed(1)} s before the measurement; full run took ${Math.round((now() - t0) / 1000)} s`,
    load.line(),
  ]),
  '## Goal',
  goalTable([
    { label: `main thread frame budget with \`<ferry-dashboard>\`: no long task over 50 ms after warm-up; p95 frame ≤ 16.7 ms`, s: budget(dash), ...(missing ? { why: missing } : {}) },
    { label: 'the same, page with the client only (baseline)', s: budget(base) },
    { label: `the same with \`<ferry-dashboard>\` filtered to ${FILTER} jobs (its rows change at every refresh)`, s: budget(filtered), ...(missing ? { why: missing } : {}) },
    { label: 'the same with `<ferry-dashboard>`, a long task counted only when the main thread had a core for over 50 ms of it (trace)', s: dash && byCpu(summarize(dash.sample), dash.tasks) },
    { label: `the same, filtered to ${FILTER} jobs`, s: filtered && byCpu(summarize(filtered.sample), filtered.tasks) },
  ]),
  '## Results',
  phaseTable(base, [
    { label: 'with `<ferry-dashboard>`', phase: dash },
    { label: `the dashboard filtered to ${FILTER}`, phase: filtered },
  ]),
  "### Long tasks: the page's work or a busy machine?",
  "A Chromium trace of the page's main thread's tasks (category `toplevel` only) ran during each measured window: it gives each task's wall time and the CPU time the thread had in it. A task much longer in wall time than on a core waited for one: the machine's other work, not the page's.",
  contentionTable([
    { label: 'client only', t: base.tasks },
    { label: 'with the dashboard', t: dash?.tasks },
    { label: `the dashboard filtered to ${FILTER}`, t: filtered?.tasks },
  ]),
  ...(dash ? [`What the dashboard's DOM changes were, records per s: ${mutationsLine(dash.sample)}.`] : []),
  ...(filtered ? [`Filtered to ${FILTER}: ${mutationsLine(filtered.sample)}.`] : []),
  ...(warmup ? ['', `Warm-up (the ${PHASE.warmupS} s after mounting, not in the table): ${warmupLine(warmup)}.`] : []),
  ...(profile ? ['## Where the main thread spends its time with the dashboard', `A V8 CPU profile of the page (CDP \`Profiler\`, 250 µs sampling) for the ${PHASE.profileS} s after the measured window.`, profileTable(profile)] : []),
  ...(filteredProfile ? [`### Filtered to ${FILTER}`, `The same, for the ${PHASE.profileS} s after the window with the table filtered to ${FILTER} jobs.`, profileTable(filteredProfile)] : []),
  ...(trace ? ["### By the browser's account", `A Chromium trace (DevTools timeline categories) of the page's main thread for the ${PHASE.profileS} s after that profile (filtered to ${FILTER}): self time per trace event, which names what the profile calls "(program)".`, traceTable(trace)] : []),
  ...(mountProfile ? ['### Mounting', `A profile of the first ${PHASE.profileS} s of a second \`<ferry-dashboard>\` mounted on the page afterwards (its warm-up).`, profileTable(mountProfile)] : []),
  '## Method',
  [
    `- The store: ${n(SEED.succeeded)} jobs succeeded and ${n(SEED.failed)} failed (run by the engine at full speed before the measurement), ${n(SEED.doneChains)} finished chains and ${n(SEED.openChains)} waiting chains of ${SEED.chainSteps} steps, ${SEED.doneBatches} finished and ${SEED.openBatches} waiting batches of ${SEED.batchSize}, ${n(SEED.waiting)} jobs waiting and ${n(SEED.delayed)} delayed by ${SEED.delayMs / 3_600_000} h or more; four job types; dispatchMany in slices of ${n(SEED.slice)}.`,
    `- The engine runs in a dedicated worker (\`exposeQueue\`) at concurrency ${RUN.concurrency}, its handlers paced to finish ${RUN.perSecond} jobs/s in all (of the jobs finished before, one in ${Math.round((SEED.succeeded + SEED.failed) / SEED.failed)} failed; of those run while measuring, one in ${RUN.failEvery} fails). The page holds a \`connectQueue\` client, which receives the queue's events in every phase.`,
    `- Each phase: ${PHASE.warmupS} s to settle (for the dashboard: from mounting it and setting \`el.queue\`), then ${PHASE.measureS} s measured on the page's main thread: long tasks (PerformanceObserver 'longtask'), the interval between successive requestAnimationFrame callbacks, the dashboard's DOM changes (a MutationObserver on the element and its shadow root), every call the page made on the client (a counting proxy given to the dashboard), the main thread's busy time (CDP Performance.getMetrics), and its tasks with their wall and CPU time (a Chromium trace of the \`toplevel\` category only). Baseline first, then the dashboard mounted (its table shows all jobs, oldest first: rows that rarely change), then the same dashboard with its table filtered to ${FILTER} jobs by a click on that count (the head of the queue: rows that change at every refresh), in the same page and run.`,
    '- The page is cross-origin isolated (COOP and COEP headers), so that timestamps tick in microseconds: without it Chromium rounds them to 100 µs and a 16.67 ms frame reads as 16.6 or 16.8 ms, over the goal one time in three on an empty page.',
    '- Numbers are cut, not rounded: 16.709 shows as 16.70; the goal is checked on the exact values.',
  ].join('\n'),
].join('\n\n')
console.log(report)
if (WRITE) writeFileSync(new URL('../results/dashboard.md', import.meta.url), `${report}\n`)
