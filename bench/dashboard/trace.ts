/**
 * What the page's main thread does, by the browser's own account: a Chromium trace with the
 * DevTools timeline categories, reduced to self time per event (script, style, layout, paint,
 * messages). It names what a CPU profile calls "(program)".
 *
 * @module
 */
import type { Browser, Page } from 'playwright'
import type { SelfTime } from './profile.js'

/** What the DevTools performance panel records: script, style, layout, paint, by event. */
export const DETAILED = ['devtools.timeline', 'disabled-by-default-devtools.timeline', '__metadata']
/** Only the tasks, with their wall and thread time: cheap enough to run during a measurement. */
export const TASKS = ['toplevel', '__metadata']

interface TraceEvent {
  name: string
  ph: string
  pid: number
  tid: number
  ts: number
  dur?: number
  /** Thread (CPU) time, where wall time `dur` also counts time the thread waited for a core. */
  tdur?: number
  args?: { name?: string }
}

export interface TraceSummary {
  ms: number
  /** Wall time in tasks, and the CPU time the thread had in them. */
  busyMs: number
  cpuMs: number
  events: SelfTime[]
  /** Tasks over 50 ms of wall time: how long, and how much CPU the thread had in them. */
  long: { wallMs: number; cpuMs: number }[]
}

/** Traces the browser while `during` runs and sums self time per event on the page's main thread. */
export async function tracePage<T>(browser: Browser, page: Page, categories: string[], during: () => Promise<T>): Promise<{ result: T; trace: TraceSummary }> {
  await browser.startTracing(page, { categories })
  const result = await during()
  const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] }
  return { result, trace: summarize(trace.traceEvents) }
}

function summarize(all: TraceEvent[]): TraceSummary {
  const mains = all.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
  const key = (e: { pid: number; tid: number }) => `${e.pid}:${e.tid}`
  const perThread = new Map<string, TraceEvent[]>(mains.map((m) => [key(m), []]))
  for (const e of all) if (e.ph === 'X' && e.dur !== undefined) perThread.get(key(e))?.push(e)
  // The page's renderer is the main thread with the most time in tasks (a browser may keep a
  // spare renderer).
  const summaries = [...perThread.values()].map(ofThread)
  return summaries.sort((a, b) => b.busyMs - a.busyMs)[0] ?? { ms: 0, busyMs: 0, cpuMs: 0, events: [], long: [] }
}

function ofThread(events: TraceEvent[]): TraceSummary {
  events.sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0))
  const self = new Map<string, number>()
  const stack: { end: number; name: string; self: number }[] = []
  const close = (until: number) => {
    while (stack.length > 0 && (stack[stack.length - 1]?.end ?? 0) <= until) {
      const done = stack.pop()
      if (done) self.set(done.name, (self.get(done.name) ?? 0) + done.self)
    }
  }
  let busy = 0
  let cpu = 0
  const long: TraceSummary['long'] = []
  for (const e of events) {
    const dur = e.dur ?? 0
    close(e.ts)
    const parent = stack[stack.length - 1]
    if (parent) parent.self -= Math.min(dur, parent.end - e.ts)
    else {
      busy += dur
      cpu += e.tdur ?? dur
      if (dur > 50_000) long.push({ wallMs: dur / 1000, cpuMs: (e.tdur ?? dur) / 1000 })
    }
    stack.push({ end: e.ts + dur, name: e.name, self: dur })
  }
  close(Infinity)
  const first = events[0]?.ts ?? 0
  const last = events.reduce((m, e) => Math.max(m, e.ts + (e.dur ?? 0)), first)
  return {
    ms: (last - first) / 1000,
    busyMs: busy / 1000,
    cpuMs: cpu / 1000,
    long,
    events: [...self.entries()]
      .map(([name, us]) => ({ name, ms: us / 1000 }))
      .filter((x) => x.ms > 0)
      .sort((a, b) => b.ms - a.ms),
  }
}
