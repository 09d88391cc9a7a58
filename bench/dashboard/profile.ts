/**
 * Where the page's main thread spends its time: a V8 CPU profile taken over CDP (`Profiler`),
 * reduced to self time per function and per file.
 *
 * @module
 */
import type { CDPSession } from 'playwright'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  /** Samples per source line of this node (1-based lines). */
  positionTicks?: { line: number; ticks: number }[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export interface SelfTime {
  name: string
  ms: number
}

export interface ProfileSummary {
  ms: number
  /** Sampled time not idle: JavaScript, GC, and "(program)" (style, layout, paint, the browser's own work). */
  busyMs: number
  functions: SelfTime[]
  files: SelfTime[]
  /** Self time per source line of the project's own files (`src/dashboard/view.ts:123`). */
  lines: SelfTime[]
}

/** Samples the page's main thread (every 250 µs) while `during` runs. */
export async function profilePage(cdp: CDPSession, during: () => Promise<unknown>): Promise<ProfileSummary> {
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
  await cdp.send('Profiler.start')
  await during()
  const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile }
  await cdp.send('Profiler.disable')
  return summarize(profile)
}

/** A file's address as the repository names it: `src/dashboard/index.ts`, `deps/rxjs.js`. */
export function shortUrl(url: string, repo: string): string {
  if (url === '') return ''
  let path = url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '')
  path = path.replace(/^\/@fs/, '')
  if (path.startsWith(repo)) path = path.slice(repo.length)
  path = path.replace(/^\/+/, '')
  // Vite's pre-bundled dependencies live in its cache folder, wherever that is.
  return path.replace(/^.*\/deps\//, 'deps/').replace(/^.*node_modules\//, '')
}

const repoRoot = new URL('../..', import.meta.url).pathname.replace(/\/$/, '')

function summarize(p: CpuProfile): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const samples = p.samples ?? []
  const deltas = p.timeDeltas ?? []
  const fn = new Map<string, number>()
  const file = new Map<string, number>()
  const line = new Map<string, number>()
  // Line ticks are counted in samples: each stands for the mean interval.
  const perSample = samples.length > 0 ? (p.endTime - p.startTime) / 1000 / samples.length : 0
  for (const n of p.nodes) {
    const where = shortUrl(n.callFrame.url, repoRoot)
    if (!where.startsWith('src/')) continue
    for (const t of n.positionTicks ?? []) line.set(`${where}:${t.line}`, (line.get(`${where}:${t.line}`) ?? 0) + t.ticks * perSample)
  }
  let busy = 0
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i] ?? -1)
    // A sample stands for the time until the next one.
    const ms = (deltas[i + 1] ?? 0) / 1000
    if (!node) continue
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    busy += ms
    const where = shortUrl(url, repoRoot)
    const name = where === '' ? functionName : `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`
    fn.set(name, (fn.get(name) ?? 0) + ms)
    const f = where === '' ? functionName : where
    file.set(f, (file.get(f) ?? 0) + ms)
  }
  const top = (m: Map<string, number>) =>
    [...m.entries()]
      .map(([name, ms]) => ({ name, ms }))
      .sort((a, b) => b.ms - a.ms)
  return { ms: (p.endTime - p.startTime) / 1000, busyMs: busy, functions: top(fn), files: top(file), lines: top(line) }
}
