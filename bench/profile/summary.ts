/**
 * A CPU profile, cut to the run's window and reduced to self time per category and per
 * function. The input is V8's: nodes with a call frame, the sampled node ids and the time
 * between samples, as `node --cpu-prof` writes them and Chromium's trace carries them.
 *
 * @module
 */
import { categoryOf, CATEGORIES, type Frame } from './categories.js'

export interface RawProfile {
  nodes: Map<number, Frame>
  samples: number[]
  /** Microseconds before each sample (the first from `startTime`). */
  timeDeltas: number[]
  startTime: number
}

export interface Summary {
  /** Microseconds of samples in the window. */
  totalUs: number
  samples: number
  byCategory: Map<string, number>
  byFunction: Map<string, { us: number; category: string }>
}

function where(f: Frame): string {
  const url = f.url.replace(/^file:\/\//, '').replace(/\?.*$/, '')
  const src = url.lastIndexOf('/src/')
  const nm = url.lastIndexOf('/node_modules/')
  const line = f.functionName === '' && f.lineNumber !== undefined ? `:${f.lineNumber + 1}` : ''
  if (src >= 0) return url.slice(src + 1) + line
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/')
    // A package by its name; one pre-bundled by Vite by its file.
    return (parts[0] === '.vite' ? parts.slice(0, 3) : parts.slice(0, parts[0]?.startsWith('@') ? 2 : 1)).join('/') + line
  }
  const deps = url.lastIndexOf('/deps/')
  if (deps >= 0) return url.slice(deps + 1) + line
  const bench = url.lastIndexOf('/bench/')
  if (bench >= 0) return url.slice(bench + 1) + line
  return url + line
}

/** Each sample stands for the time until the next one; samples outside [start, end] are dropped. */
export function summarize(p: RawProfile, window: { start: number; end: number }): Summary {
  const byCategory = new Map<string, number>(CATEGORIES.map((c) => [c.name, 0]))
  const byFunction = new Map<string, { us: number; category: string }>()
  let t = p.startTime
  let totalUs = 0
  let samples = 0
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0
    const weight = p.timeDeltas[i + 1] ?? 0
    if (t < window.start || t > window.end) continue
    const frame = p.nodes.get(p.samples[i] ?? -1) ?? { functionName: '(unknown)', url: '' }
    const category = categoryOf(frame)
    byCategory.set(category, (byCategory.get(category) ?? 0) + weight)
    const key = `${frame.functionName || '(anonymous)'} · ${where(frame) || '–'}`
    const fn = byFunction.get(key) ?? { us: 0, category }
    fn.us += weight
    byFunction.set(key, fn)
    totalUs += weight
    samples++
  }
  return { totalUs, samples, byCategory, byFunction }
}

const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '–')
const ms = (us: number) => (us < 10_000 ? (us / 1000).toFixed(1) : Math.round(us / 1000).toLocaleString('en-US'))

/** Two short tables: self time per category, and the functions with the most self time. */
export function summaryTables(s: Summary, top = 10): string {
  const cats = ['| category | self ms | share |', '|---|--:|--:|']
  for (const [name, us] of s.byCategory) if (us > 0) cats.push(`| ${name} | ${ms(us)} | ${pct(us, s.totalUs)} |`)
  cats.push(`| **total sampled** | **${ms(s.totalUs)}** | 100% |`)
  const fns = ['| function · where | category | self ms | share |', '|---|---|--:|--:|']
  const sorted = [...s.byFunction].sort((a, b) => b[1].us - a[1].us).slice(0, top)
  for (const [key, f] of sorted) fns.push(`| ${key.replaceAll('|', '\\|')} | ${f.category} | ${ms(f.us)} | ${pct(f.us, s.totalUs)} |`)
  return [cats.join('\n'), `Top ${top} functions by self time:`, fns.join('\n')].join('\n\n')
}
