/**
 * `npm run bench:profile`: where the time goes while ferry processes jobs, per store. Node's
 * memory store and file store (synchronous=normal) under `node --cpu-prof`, Chromium's
 * IndexedDB and OPFS stores under Playwright's tracing, each at concurrency 1 and 8. Writes
 * one section of bench/results/profile-<store>.md and keeps the other:
 *
 *     npm run bench:profile -- [--section before|after] [--results <dir>] [--code <label>] [memory file-normal idb opfs]
 *
 * The section is "after" unless told. `--results` writes elsewhere than this checkout's
 * bench/results (a copy of older code, run from its own folder, writes here); `--code` says
 * what code ran, where that folder is no git checkout. To profile an older commit:
 *
 *     git archive <commit> | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/node_modules
 *     cp -r bench/profile /tmp/old/bench/ && cd /tmp/old
 *     npx tsx bench/profile/main.ts --section before --results <this checkout>/bench/results --code "ferry commit <commit>"
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { openChromium, type Chromium } from './chromium.js'
import { NODE_INTERVAL_US, profileNode } from './node.js'
import { writeSection, type Section } from './results.js'
import type { ProfileRun } from './run.js'
import { summaryTables, type Summary } from './summary.js'

const STORES = {
  memory: { title: 'ferry · memory store (Node)', jobs: { 1: 20_000, 8: 20_000 } },
  'file-normal': { title: 'ferry · SQLite file store, synchronous=normal (Node)', jobs: { 1: 5_000, 8: 5_000 } },
  idb: { title: 'ferry · IndexedDB store (Chromium)', jobs: { 1: 2_000, 8: 5_000 } },
  opfs: { title: 'ferry · SQLite on OPFS, synchronous=normal (Chromium, dedicated Worker)', jobs: { 1: 500, 8: 1_000 } },
} as const
type StoreName = keyof typeof STORES
const CONCURRENCY = [1, 8] as const

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { section: { type: 'string', default: 'after' }, results: { type: 'string' }, code: { type: 'string' } },
})
const section = values.section as Section
if (section !== 'before' && section !== 'after') throw new Error('--section is before or after')
const names = (positionals.length > 0 ? positionals : Object.keys(STORES)) as StoreName[]
for (const n of names) if (!(n in STORES)) throw new Error(`no store ${n}; known: ${Object.keys(STORES).join(', ')}`)
const resultsDir = values.results ?? fileURLToPath(new URL('../results/', import.meta.url))
const executablePath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

function code(): string {
  if (values.code !== undefined) return values.code
  const sha = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' })
  if (sha.status !== 0) return `the code in ${process.cwd()} (not a git checkout)`
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== ''
  return `ferry commit ${sha.stdout.trim()}${dirty ? ' with uncommitted changes in src/' : ''}`
}

function runBlock(c: number, run: ProfileRun, summary: Summary, every: string): string {
  const rate = run.ms > 0 ? Math.round((run.jobs * 1000) / run.ms).toLocaleString('en-US') : '–'
  return [
    `### Concurrency ${c}`,
    '',
    `${run.jobs.toLocaleString('en-US')} jobs in ${Math.round(run.ms).toLocaleString('en-US')} ms while profiled (${rate} jobs/s); ${summary.samples.toLocaleString('en-US')} samples, ${every}.`,
    '',
    summaryTables(summary),
  ].join('\n')
}

let browser: Chromium | undefined
try {
  for (const name of names) {
    const store = STORES[name]
    const blocks: string[] = []
    let runtime = `Node ${process.version}`
    for (const c of CONCURRENCY) {
      const load = loadavg()[0]?.toFixed(2) ?? '?'
      console.error(`bench:profile: ${name}, concurrency ${c} (load ${load})…`)
      if (name === 'memory' || name === 'file-normal') {
        const { run, summary } = profileNode(name, c, store.jobs[c])
        blocks.push(runBlock(c, run, summary, `every ${NODE_INTERVAL_US / 1000} ms; load average ${load} before`))
      } else {
        browser ??= await openChromium(executablePath)
        runtime = `Chromium ${browser.version()}, headless`
        const { run, summary } = await browser.profile({ store: name, concurrency: c, jobs: store.jobs[c] })
        blocks.push(runBlock(c, run, summary, `load average ${load} before`))
      }
    }
    const cpu = cpus()
    const about = `- Code: ${code()}; taken ${new Date().toISOString()}\n- ${runtime}; ${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores`
    const file = writeSection(resultsDir, name, store.title, section, [about, ...blocks].join('\n\n'))
    console.error(`bench:profile: wrote the ${section} section of ${file}`)
  }
} finally {
  await browser?.close()
}
