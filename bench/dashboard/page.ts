/**
 * The page of the dashboard benchmark: the queue runs in a dedicated worker, the page holds a
 * `connectQueue` client and, in the second phase, `<ferry-dashboard>` on it. `measure` watches
 * the page's main thread for a while: frames, long tasks, the dashboard's DOM updates and the
 * calls it makes on the client.
 *
 * @module
 */
import type { Counts } from '../../src/index.js'
import type { QueueClient } from '../../src/workers/index.js'
import { connectQueue } from '../../src/workers/index.js'
import type { Command, Reply, Sample, SeedResult } from './protocol.js'

const worker = new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module', name: 'ferry queue' })
const client = connectQueue(worker)
const control = new MessageChannel()
worker.postMessage({ benchControl: control.port2 }, [control.port2])

let nextId = 1
const replies = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
control.port1.onmessage = (e: MessageEvent<Reply>) => {
  const r = replies.get(e.data.id)
  replies.delete(e.data.id)
  if (e.data.error !== undefined) r?.reject(new Error(e.data.error))
  else r?.resolve(e.data.result)
}
function command(c: Command): Promise<unknown> {
  const id = nextId++
  return new Promise((resolve, reject) => {
    replies.set(id, { resolve, reject })
    control.port1.postMessage({ ...c, id })
  })
}

/** Every call the dashboard makes on its queue, counted by method. */
const calls: Record<string, number> = {}
const counted: QueueClient = new Proxy(client, {
  get(target, prop) {
    const v: unknown = Reflect.get(target, prop, target)
    if (typeof v !== 'function') return v
    return (...args: unknown[]): unknown => {
      calls[String(prop)] = (calls[String(prop)] ?? 0) + 1
      return (v as (...a: unknown[]) => unknown).apply(target, args)
    }
  },
})

let dashboardLoaded = false
/** Imports the dashboard's module (its address on the dev server), outside every measurement. */
async function load(url: string): Promise<void> {
  const mod = (await import(/* @vite-ignore */ url)) as { defineDashboard?: () => void }
  // The module defines the element as it loads; should that become explicit, ask for it.
  if (!customElements.get('ferry-dashboard')) mod.defineDashboard?.()
  if (!customElements.get('ferry-dashboard')) throw new Error(`${url} did not define <ferry-dashboard>`)
  dashboardLoaded = true
}

let dashboard: (HTMLElement & { queue?: unknown }) | undefined

/** The dashboard's regions, by the parts its documentation names: what a DOM change updated. */
const REGIONS: [string, string][] = [
  ['job rows', '[part~="jobs"], [part~="job-rows"], [part~="page-info"]'],
  ['counts', '[part~="counts"]'],
  ['throughput', '[part~="throughput"]'],
  ['chains and batches', '[part~="chains-box"], [part~="batches-box"]'],
]
/** What a record changed, shortly: `span[part=rate] text`, `path @d`, `tbody[part=job-rows] children`. */
function whatOf(r: MutationRecord): string {
  const el = r.target instanceof Element ? r.target : r.target.parentElement
  const part = el?.getAttribute('part')
  const name = `${el?.localName ?? '?'}${part ? `[part=${part}]` : ''}`
  return r.type === 'attributes' ? `${name} @${r.attributeName ?? ''}` : r.type === 'characterData' ? `${name} text` : `${name} children`
}

function regionOf(r: MutationRecord): string {
  const el = r.target instanceof Element ? r.target : r.target.parentElement
  for (const [name, selector] of REGIONS) if (el?.closest(selector)) return name
  return 'other'
}

const finishedOf = (c: { succeeded: number; failed: number }) => c.succeeded + c.failed

/**
 * Watches the main thread for `seconds`. With `mount`, `<ferry-dashboard>` is put on the page
 * and given the client as the window starts; with `filter`, its table is filtered to that state.
 */
async function measure(seconds: number, o: { mount?: boolean; filter?: string } = {}): Promise<Sample> {
  const before = await client.counts()
  const frames: number[] = []
  const longTasks: Sample['longTasks'] = []
  const mutations: Sample['mutations'] = { callbacks: 0, records: 0, frames: 0, regions: {}, what: {} }
  const callsBefore = { ...calls }
  let running = true
  let last: number | undefined
  let changed = new Set<string>()
  const tick = (t: number) => {
    if (last !== undefined) frames.push(t - last)
    last = t
    if (changed.size > 0) mutations.frames++
    for (const r of changed) mutations.regions[r] = (mutations.regions[r] ?? 0) + 1
    changed = new Set()
    if (running) requestAnimationFrame(tick)
  }
  const longTaskObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) longTasks.push({ start: e.startTime, duration: e.duration })
  })
  longTaskObserver.observe({ type: 'longtask' })
  const t0 = performance.now()
  const mutationObserver = new MutationObserver((records) => {
    mutations.callbacks++
    mutations.records += records.length
    mutations.first ??= performance.now() - t0
    for (const r of records) {
      changed.add(regionOf(r))
      const w = whatOf(r)
      mutations.what[w] = (mutations.what[w] ?? 0) + 1
    }
  })
  const watch = (el: HTMLElement) => {
    const opts = { subtree: true, childList: true, characterData: true, attributes: true }
    mutationObserver.observe(el, opts)
    if (el.shadowRoot) mutationObserver.observe(el.shadowRoot, opts)
  }
  requestAnimationFrame(tick)
  if (o.mount) {
    if (!dashboardLoaded) throw new Error('the dashboard module is not loaded')
    dashboard = document.createElement('ferry-dashboard')
    document.body.append(dashboard)
    watch(dashboard)
    dashboard.queue = counted
  } else if (dashboard) {
    watch(dashboard)
  }
  if (o.filter !== undefined) {
    // As a user would: a click on the state's count filters the table by it.
    const button = dashboard?.shadowRoot?.querySelector<HTMLElement>(`button[part~="count"][data-state="${o.filter}"]`)
    if (!button) throw new Error(`the dashboard has no count button for ${o.filter}`)
    button.click()
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  running = false
  const ms = performance.now() - t0
  for (const e of longTaskObserver.takeRecords()) longTasks.push({ start: e.startTime, duration: e.duration })
  longTaskObserver.disconnect()
  mutationObserver.disconnect()
  const after = await client.counts()
  const made: Record<string, number> = {}
  for (const [k, n] of Object.entries(calls)) if (n - (callsBefore[k] ?? 0) > 0) made[k] = n - (callsBefore[k] ?? 0)
  return {
    ms,
    frames,
    longTasks: longTasks.filter((t) => t.start >= t0).map((t) => ({ start: t.start - t0, duration: t.duration })),
    mutations,
    calls: made,
    finished: finishedOf(after) - finishedOf(before),
    counts: after,
  }
}

declare global {
  interface Window {
    ferryDashboardBench: {
      seed(scale: number): Promise<SeedResult>
      run(): Promise<void>
      load(url: string): Promise<void>
      measure(seconds: number, o?: { mount?: boolean; filter?: string }): Promise<Sample>
      unmount(): void
      counts(): Promise<Counts>
    }
  }
}

window.ferryDashboardBench = {
  seed: (scale) => command({ cmd: 'seed', scale }) as Promise<SeedResult>,
  run: async () => void (await command({ cmd: 'run' })),
  load,
  measure,
  counts: () => client.counts(),
  unmount: () => {
    dashboard?.remove()
    dashboard = undefined
  },
}
