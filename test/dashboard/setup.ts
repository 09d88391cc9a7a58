/**
 * What the dashboard tests share: a queue in the page or in a worker, a plain-function view of
 * it that a test can alter, and finders for the element's parts.
 */
import { createQueue, type Queue } from '../../src/index.js'
import type { DashboardQueue } from '../../src/dashboard/index.js'
import type { Counts, JobRecord, QueueEvent } from '../../src/core/types.js'
import { manualConnectivity } from '../../src/testing/index.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import { registerJobs, steer, type DashJobs, type Steering } from './fixtures/jobs.js'

export interface Setup {
  queue: Queue<DashJobs> | QueueClient<DashJobs>
  steering: Steering
  close(): Promise<void>
}

const unique = (): string => `dash-${Date.now()}-${Math.random().toString(36).slice(2)}`

export async function local(): Promise<Setup> {
  const channel = unique()
  const net = manualConnectivity(true)
  const queue = createQueue<DashJobs>({ concurrency: 4, connectivity: net })
  const stop = registerJobs(queue, channel, (online) => net.set(online))
  await queue.start()
  const steering = steer(channel)
  return {
    queue,
    steering,
    async close() {
      steering.close()
      stop()
      await queue.close({ timeoutMs: 100 })
    },
  }
}

export async function inWorker(): Promise<Setup> {
  const name = unique()
  const worker = new Worker(new URL('./fixtures/queue.worker.ts', import.meta.url), { type: 'module', name })
  const queue = connectQueue<DashJobs>(worker)
  const steering = steer(name)
  // The host listens for steering once its queue is open: a message before that would be lost.
  await queue.counts()
  return {
    queue,
    steering,
    async close() {
      steering.close()
      await queue.close()
      worker.terminate()
      indexedDB.deleteDatabase(name)
    },
  }
}

/** The dashboard's view of a queue, through plain functions a test can replace one by one. */
export const facade = (q: Setup['queue']): DashboardQueue => ({
  events: q.events,
  getJob: (id) => q.getJob(id),
  listJobs: (f) => q.listJobs(f),
  counts: () => q.counts(),
  findBatch: (id) => q.findBatch(id),
  findChain: (id) => q.findChain(id),
  cancel: (id) => q.cancel(id),
  replay: (id) => q.replay(id),
  pause: (name) => q.pause(name),
  resume: (name) => q.resume(name),
  get online() {
    return q.online
  },
})

export const WAIT = { timeout: 15_000, interval: 25 }

export const shadow = (el: HTMLElement): ShadowRoot => {
  if (!el.shadowRoot) throw new Error('the dashboard has no open shadow root')
  return el.shadowRoot
}
export const one = <E extends Element = HTMLElement>(el: HTMLElement, selector: string): E | null => shadow(el).querySelector<E>(selector)
export const row = (el: HTMLElement, id: string) => one<HTMLTableRowElement>(el, `tr[data-job-id="${CSS.escape(id)}"]`)
export const cell = (el: HTMLElement, id: string, col: string) => row(el, id)?.querySelector(`[data-col="${col}"]`)?.textContent?.trim()
export const countOf = (el: HTMLElement, state: string) => one(el, `[part~="count"][data-state="${state}"]`)?.dataset['count']
export const button = (el: HTMLElement, selector: string): HTMLButtonElement => {
  const b = one<HTMLButtonElement>(el, selector)
  if (!b) throw new Error(`no button ${selector}`)
  return b
}

export const counts = (waiting = 0): Counts => ({ waiting, active: 0, delayed: 0, blocked: 0, succeeded: 0, failed: 0, cancelled: 0 })
export const rec = (o: Partial<JobRecord>): JobRecord => ({
  id: 'j1', type: 't', queue: 'default', payload: {}, state: 'failed', priority: 0, attempt: 1, maxAttempts: 4, runAt: 1, createdAt: 1, ...o,
})

/** A queue made of plain functions, with a hand to emit any event, well-formed or not. */
export function fake(jobs: JobRecord[], extra: Partial<DashboardQueue> = {}): DashboardQueue & { emit(e: unknown): void } {
  const listeners = new Set<(e: QueueEvent) => void>()
  return {
    events: { subscribe: (fn) => (listeners.add(fn), () => listeners.delete(fn)) },
    emit: (e) => [...listeners].forEach((l) => l(e as QueueEvent)),
    getJob: () => Promise.resolve(undefined),
    listJobs: () => Promise.resolve(jobs),
    counts: () => Promise.resolve(counts(1)),
    findBatch: () => Promise.reject(new Error('no batch')),
    findChain: () => Promise.reject(new Error('no chain')),
    cancel: () => Promise.resolve(true),
    replay: () => Promise.resolve(true),
    pause: () => {},
    resume: () => {},
    ...extra,
  }
}
