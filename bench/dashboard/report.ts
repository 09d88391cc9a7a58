/**
 * The dashboard benchmark's tables: the page's main thread with the client only and with
 * `<ferry-dashboard>`, side by side, and the frame-budget goal. Numbers are cut, never rounded
 * up: 16.709 ms shows as 16.70, and the goal is checked on the exact value.
 *
 * @module
 */
import { quantile } from '../lib/stats.js'
import { FRAME_MS, LONG_MS } from './plan.js'
import type { ProfileSummary } from './profile.js'
import type { TraceSummary } from './trace.js'
import type { Sample } from './protocol.js'

/** What CDP's `Performance.getMetrics` counted during a window, in ms of the main thread. */
export interface ThreadTime {
  task: number
  script: number
  layout: number
  style: number
}

export interface Phase {
  sample: Sample
  thread: ThreadTime
  /** The main thread's tasks during the window, from a trace. */
  tasks: TraceSummary
}

const down = (x: number, digits = 2) => {
  const f = 10 ** digits
  return (Math.floor(x * f) / f).toFixed(digits)
}
const int = (n: number) => Math.floor(n).toLocaleString('en-US')
const perS = (n: number, ms: number) => (ms > 0 ? (n * 1000) / ms : 0)

export interface Summary {
  frames: number
  p50: number
  p95: number
  p99: number
  max: number
  over16: number
  over25: number
  over50: number
  longCount: number
  longTotal: number
  longMax: number
}

export function summarize(s: Sample): Summary {
  const q = (p: number) => quantile(s.frames, p) ?? NaN
  return {
    frames: s.frames.length,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
    max: s.frames.length > 0 ? Math.max(...s.frames) : NaN,
    over16: s.frames.filter((f) => f > FRAME_MS).length,
    over25: s.frames.filter((f) => f > 25).length,
    over50: s.frames.filter((f) => f > LONG_MS).length,
    longCount: s.longTasks.length,
    longTotal: s.longTasks.reduce((a, t) => a + t.duration, 0),
    longMax: s.longTasks.reduce((a, t) => Math.max(a, t.duration), 0),
  }
}

/** The goal: no long task (a task over 50 ms) and p95 frame interval ≤ 16.7 ms. */
/** The summary with long tasks counted by the CPU time the thread had in them, from the trace. */
export function byCpu(s: Summary, t: TraceSummary): Summary {
  const long = t.long.filter((x) => x.cpuMs > LONG_MS)
  return { ...s, longCount: long.length, longTotal: long.reduce((a, x) => a + x.cpuMs, 0), longMax: long.reduce((a, x) => Math.max(a, x.cpuMs), 0) }
}

export function meetsBudget(s: Summary): boolean {
  // Differences of timestamps carry float noise (16.700000000011): a nanosecond is below it.
  return s.longCount === 0 && s.p95 <= FRAME_MS + 1e-6
}

export function goalTable(rows: { label: string; s: Summary | undefined; why?: string }[]): string {
  const out = ['| goal | measured | target | met |', '|---|--:|--:|:-:|']
  for (const { label, s, why } of rows) {
    const measured = s
      ? `${s.longCount} long tasks${s.longCount > 0 ? ` (max ${down(s.longMax, 0)} ms)` : ''}; p95 frame ${down(s.p95)} ms`
      : `not measured${why ? `: ${why}` : ''}`
    const met = s ? (meetsBudget(s) ? 'yes' : '**no**') : '–'
    out.push(`| ${label} | ${measured} | no long task; p95 frame ≤ ${FRAME_MS} ms | ${met} |`)
  }
  return out.join('\n')
}

function regionsLine(regions: Record<string, number>, ms: number): string {
  const e = Object.entries(regions).sort((a, b) => b[1] - a[1])
  return e.length === 0 ? '0' : e.map(([k, n]) => `${k} ${down(perS(n, ms), 1)}`).join(', ')
}

function callsLine(calls: Record<string, number>, ms: number): string {
  const e = Object.entries(calls).sort((a, b) => b[1] - a[1])
  if (e.length === 0) return '0'
  return e.map(([k, n]) => `${k} ${down(perS(n, ms), 1)}`).join(', ')
}

/** The side-by-side table: the baseline, then each dashboard phase and what it adds to the baseline. */
export function phaseTable(base: Phase, others: { label: string; phase: Phase | undefined }[]): string {
  const b = summarize(base.sample)
  const rows: [string, (s: Summary, p: Phase) => string, ((x: Summary, y: Summary, p: Phase, q: Phase) => string)?][] = [
    ['measured for', (_, p) => `${down(p.sample.ms / 1000, 1)} s`],
    ['long tasks (over 50 ms): count', (s) => String(s.longCount), (x, y) => signed(x.longCount - y.longCount, 0)],
    ['long tasks: total ms', (s) => down(s.longTotal, 0), (x, y) => signed(x.longTotal - y.longTotal, 0)],
    ['long tasks: longest, ms', (s) => down(s.longMax, 0)],
    ['frames seen (requestAnimationFrame)', (s) => int(s.frames)],
    ['frame interval p50, ms', (s) => down(s.p50), (x, y) => signed(x.p50 - y.p50)],
    ['frame interval p95, ms', (s) => down(s.p95), (x, y) => signed(x.p95 - y.p95)],
    ['frame interval p99, ms', (s) => down(s.p99), (x, y) => signed(x.p99 - y.p99)],
    ['frame interval max, ms', (s) => down(s.max), (x, y) => signed(x.max - y.max)],
    [`frames over ${FRAME_MS} ms`, (s) => `${int(s.over16)} (${down((100 * s.over16) / Math.max(1, s.frames))}%)`],
    [`frames over 25 ms (at least one 60 Hz frame missed)`, (s) => `${int(s.over25)} (${down((100 * s.over25) / Math.max(1, s.frames))}%)`],
    [`frames over ${LONG_MS} ms`, (s) => `${int(s.over50)} (${down((100 * s.over50) / Math.max(1, s.frames))}%)`],
    ['main thread busy, wall ms per s (CDP TaskDuration)', (_, p) => down(perS(p.thread.task, p.sample.ms), 1), (_x, _y, p, q) => signed(perS(p.thread.task, p.sample.ms) - perS(q.thread.task, q.sample.ms), 1)],
    ['main thread on a core, ms per s (trace: CPU time in tasks)', (_, p) => down(perS(p.tasks.cpuMs, p.sample.ms), 1), (_x, _y, p, q) => signed(perS(p.tasks.cpuMs, p.sample.ms) - perS(q.tasks.cpuMs, q.sample.ms), 1)],
    ['of which script, ms per s', (_, p) => down(perS(p.thread.script, p.sample.ms), 1), (_x, _y, p, q) => signed(perS(p.thread.script, p.sample.ms) - perS(q.thread.script, q.sample.ms), 1)],
    ['of which style + layout, ms per s', (_, p) => down(perS(p.thread.style + p.thread.layout, p.sample.ms), 1), (_x, _y, p, q) => signed(perS(p.thread.style + p.thread.layout, p.sample.ms) - perS(q.thread.style + q.thread.layout, q.sample.ms), 1)],
    ['dashboard DOM updates per s (MutationObserver callbacks)', (_, p) => down(perS(p.sample.mutations.callbacks, p.sample.ms), 1)],
    ['frames with a dashboard DOM change, per s', (_, p) => down(perS(p.sample.mutations.frames, p.sample.ms), 1)],
    ['frames with a change, per s, by region', (_, p) => regionsLine(p.sample.mutations.regions, p.sample.ms)],
    ['DOM mutation records per s', (_, p) => down(perS(p.sample.mutations.records, p.sample.ms), 0)],
    ['calls on the queue client per s, by method', (_, p) => callsLine(p.sample.calls, p.sample.ms)],
    ['jobs finished per s (succeeded + failed, from counts)', (_, p) => down(perS(p.sample.finished, p.sample.ms), 1)],
    ['jobs waiting at the end of the window (the engine never ran dry)', (_, p) => int(p.sample.counts.waiting)],
  ]
  const out = [`| measure | client only (baseline) | ${others.map((o) => `${o.label} | adds`).join(' | ')} |`, `|---|--:|${others.map(() => '--:|--:|').join('')}`]
  for (const [label, f, diff] of rows) {
    const cells = others.map(({ phase }) => {
      if (!phase) return 'not measured | –'
      const d = summarize(phase.sample)
      return `${f(d, phase)} | ${diff ? diff(d, b, phase, base) : ''}`
    })
    out.push(`| ${label} | ${f(b, base)} | ${cells.join(' | ')} |`)
  }
  return out.join('\n')
}

function signed(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '–'
  // Cut towards zero, so that neither sign is made larger than measured.
  const f = 10 ** digits
  const t = Math.trunc(x * f) / f
  return `${t >= 0 ? '+' : '−'}${Math.abs(t).toFixed(digits)}`
}

/** The warm-up after mounting: what it cost before the measured window began. */
export function warmupLine(w: Sample): string {
  const s = summarize(w)
  const first = w.mutations.first === undefined ? 'no DOM change' : `first DOM change ${down(w.mutations.first, 0)} ms after mounting`
  return `${first}; ${s.longCount} long tasks (total ${down(s.longTotal, 0)} ms, longest ${down(s.longMax, 0)} ms); frame p95 ${down(s.p95)} ms, max ${down(s.max)} ms; calls on the client: ${Object.entries(w.calls).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`
}

export function profileTable(p: ProfileSummary, n = 15): string {
  const share = (ms: number) => `${down((100 * ms) / Math.max(p.busyMs, 1e-9), 1)}%`
  const fn = ['| function (self time) | ms | share of busy |', '|---|--:|--:|', ...p.functions.slice(0, n).map((f) => `| \`${f.name}\` | ${down(f.ms, 1)} | ${share(f.ms)} |`)]
  const files = ['| file (self time) | ms | share of busy |', '|---|--:|--:|', ...p.files.slice(0, 10).map((f) => `| \`${f.name}\` | ${down(f.ms, 1)} | ${share(f.ms)} |`)]
  const lines = ['| source line of src/ (self time) | ms |', '|---|--:|', ...p.lines.slice(0, 10).map((l) => `| \`${l.name}\` | ${down(l.ms, 1)} |`)]
  return [
    `Sampled ${down(p.ms / 1000, 1)} s; the main thread was busy for ${down(p.busyMs, 0)} ms of it ("(program)" is the browser's own work: style, layout, paint, messages).`,
    '',
    fn.join('\n'),
    '',
    files.join('\n'),
    '',
    lines.join('\n'),
  ].join('\n')
}

export function traceTable(t: TraceSummary, n = 15): string {
  const share = (ms: number) => `${down((100 * ms) / Math.max(t.busyMs, 1e-9), 1)}%`
  return [
    `Traced ${down(t.ms / 1000, 1)} s; the main thread ran tasks for ${down(t.busyMs, 0)} ms of it (${down(t.cpuMs, 0)} ms on a core).`,
    '',
    ['| trace event (self time) | ms | share of busy |', '|---|--:|--:|', ...t.events.slice(0, n).map((e) => `| ${e.name} | ${down(e.ms, 1)} | ${share(e.ms)} |`)].join('\n'),
  ].join('\n')
}

/** The most frequent DOM changes, per second. */
export function mutationsLine(s: Sample, n = 10): string {
  const e = Object.entries(s.mutations.what).sort((a, b) => b[1] - a[1])
  return e.length === 0 ? 'none' : e.slice(0, n).map(([k, c]) => `\`${k}\` ${down(perS(c, s.ms), 1)}`).join(', ')
}

/**
 * Long tasks by wall time and by the CPU time the thread had in them: on a loaded machine a
 * task waits for a core, and its wall time overstates the page's own work.
 */
export function contentionTable(rows: { label: string; t: TraceSummary | undefined }[]): string {
  const out = ['| traced window | in tasks, wall ms (on a core) | tasks over 50 ms wall | of which over 50 ms on a core | the longest, wall / on a core, ms |', '|---|--:|--:|--:|--:|']
  for (const { label, t } of rows) {
    if (!t) continue
    const cpuLong = t.long.filter((x) => x.cpuMs > 50).length
    const longest = [...t.long].sort((a, b) => b.wallMs - a.wallMs).slice(0, 6)
    const list = longest.length === 0 ? '–' : longest.map((x) => `${down(x.wallMs, 0)} / ${down(x.cpuMs, 0)}`).join(', ')
    out.push(`| ${label} (${down(t.ms / 1000, 1)} s) | ${down(t.busyMs, 0)} (${down(t.cpuMs, 0)}) | ${t.long.length} | ${cpuLong} | ${list} |`)
  }
  return out.join('\n')
}
