/**
 * Node profiles: each run in a process of its own under `node --cpu-prof`
 * (`node-run.ts`), its profile cut to the run's window.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Frame } from './categories.js'
import type { ProfileRun } from './run.js'
import { summarize, type Summary } from './summary.js'

/** Sampling interval, µs (Node's default is 1,000). */
export const NODE_INTERVAL_US = 250

interface CpuProfile {
  nodes: { id: number; callFrame: Frame }[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
}

export function profileNode(store: 'memory' | 'file-normal', concurrency: number, jobs: number): { run: ProfileRun; summary: Summary } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-profile-'))
  try {
    const out = join(dir, 'run.json')
    const entry = fileURLToPath(new URL('./node-run.ts', import.meta.url))
    const args = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(NODE_INTERVAL_US), '--import', 'tsx', entry, store, String(concurrency), String(jobs), out, dir]
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) throw new Error(`the profiled run failed (exit ${r.status ?? r.signal ?? '?'})`)
    const run = JSON.parse(readFileSync(out, 'utf8')) as ProfileRun & { start: number; end: number }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error('node --cpu-prof wrote no profile')
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]))
    const summary = summarize({ nodes, samples: p.samples, timeDeltas: p.timeDeltas, startTime: p.startTime }, run)
    return { run: { jobs: run.jobs, ms: run.ms }, summary }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
