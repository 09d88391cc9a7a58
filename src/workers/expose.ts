/**
 * `exposeQueue`: serves a queue to the page or main thread from inside a worker.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { specFromOptions, type SpecOptions } from '../core/job-spec.js'
import type { Queue } from '../core/queue.js'
import type { BatchBuilder, ChainBuilder } from '../core/builders.js'
import type { QueueEvent } from '../core/types.js'
import { currentWorkerEndpoint, toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import type { BatchPlan, ChainPlan, HostApi } from './protocol.js'

/**
 * Serves `queue` to whoever holds the other end of `endpoint` (by default, the worker's
 * parent: a dedicated worker's scope, or Node's `parentPort`). Handlers are registered, and the
 * engine started, here in the worker.
 * @example
 * // worker.ts
 * const queue = createQueue<Jobs>({ store: sqliteStore({ path: 'jobs.db' }) })
 * queue.register('photo:upload', upload)
 * await queue.start()
 * exposeQueue(queue)
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any job map may be served
export function exposeQueue(queue: Queue<any>, endpoint?: unknown): void {
  installErrorTransfer()
  const q = queue as Queue
  const ports = new Map<number, { port: MessagePort; off: () => void }>()
  let nextId = 1
  const spec = (o: SpecOptions) => specFromOptions(o)
  const withCallbacks = <B extends ChainBuilder | BatchBuilder>(b: B, p: { onSuccess?: SpecOptions; onError?: SpecOptions; onSettled?: SpecOptions }): B => {
    let out = b
    if (p.onSuccess) out = out.onSuccess(spec(p.onSuccess)) as B
    if (p.onError) out = out.onError(spec(p.onError)) as B
    if (p.onSettled) out = out.onSettled(spec(p.onSettled)) as B
    return out
  }
  const api: HostApi = {
    dispatchMany: (specs) => q.dispatchMany(specs.map(spec)),
    chain: (p: ChainPlan) => {
      let b = q.chain(...p.specs.map(spec))
      if (p.id !== undefined) b = b.withId(p.id)
      if (p.queue !== undefined) b = b.onQueue(p.queue)
      return withCallbacks(b, p).dispatch()
    },
    batch: (p: BatchPlan) => {
      let b = q.batch(...p.specs.map(spec))
      if (p.id !== undefined) b = b.withId(p.id)
      if (p.name !== undefined) b = b.name(p.name)
      if (p.queue !== undefined) b = b.onQueue(p.queue)
      if (p.allowFailures) b = b.allowFailures()
      if (p.onProgress) b = b.onProgress(spec(p.onProgress))
      return withCallbacks(b, p).dispatch()
    },
    schedule: (name, when, s, opts) => q.schedule(name, when, spec(s), opts),
    unschedule: (name) => q.unschedule(name),
    listSchedules: () => q.listSchedules(),
    getJob: (id) => q.getJob(id),
    listJobs: (filter) => q.listJobs(filter),
    counts: () => q.counts(),
    cancel: (id) => q.cancel(id),
    replay: (id) => q.replay(id),
    findBatch: (id) => q.findBatch(id),
    findChain: (id) => q.findChain(id),
    cancelBatch: (id) => q.cancelBatch(id),
    prune: (olderThan) => q.prune(olderThan),
    pause: (name) => q.pause(name),
    resume: (name) => q.resume(name),
    attachEvents(port) {
      const id = nextId++
      // Events of one tick travel as one message.
      let pending: QueueEvent[] = []
      const off = q.events.subscribe((e) => {
        if (pending.push(e) > 1) return
        queueMicrotask(() => {
          const batch = pending
          pending = []
          port.postMessage(batch)
        })
      })
      ports.set(id, { port, off })
      return id
    },
    detachEvents(id) {
      const p = ports.get(id)
      if (!p) return
      ports.delete(id)
      p.off()
      p.port.close()
    },
  }
  Comlink.expose(api, endpoint === undefined ? currentWorkerEndpoint() : toEndpoint(endpoint))
}
