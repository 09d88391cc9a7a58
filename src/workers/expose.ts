/**
 * `exposeQueue`: serves a queue to the page or main thread from inside a worker.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { InvalidArgumentError } from '../core/errors.js'
import { specFromOptions, type SpecOptions } from '../core/job-spec.js'
import { relayed, type Queue } from '../core/queue.js'
import type { BatchBuilder, ChainBuilder } from '../core/builders.js'
import type { QueueEvent } from '../core/types.js'
import { currentWorkerEndpoint, toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import type { StateMessage } from './online.js'
import { isQueueMethod, type BatchPlan, type ChainPlan, type HostApi, type Relay } from './protocol.js'

/**
 * Serves `queue` to whoever holds the other end of `endpoint` (by default, the worker's
 * parent: a dedicated worker's scope, or Node's `parentPort`). Handlers are registered, and the
 * engine started, here in the worker.
 *
 * Call it at the top of the worker module, before anything is awaited: a browser drops the
 * messages that reach a worker before it listens. A queue that takes time to set up (a store
 * to open) is given as a promise; calls wait for it.
 * @example
 * // queue.worker.ts
 * exposeQueue(openQueue()) // openQueue: async () => { const q = createQueue(...); ...; await q.start(); return q }
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any job map may be served
export function exposeQueue(queue: Queue<any> | Promise<Queue<any>>, endpoint?: unknown): void {
  installErrorTransfer()
  const ep = endpoint === undefined ? currentWorkerEndpoint() : toEndpoint(endpoint)
  const ready = Promise.resolve(queue as Queue | Promise<Queue>)
  // A failed setup answers every call with its error instead of leaving callers waiting.
  ready.catch(() => undefined)
  const ports = new Map<number, { port: MessagePort; off?: () => void }>()
  let nextId = 1
  const spec = (o: SpecOptions) => specFromOptions(o)
  const withCallbacks = <B extends ChainBuilder | BatchBuilder>(b: B, p: { onSuccess?: SpecOptions; onError?: SpecOptions; onSettled?: SpecOptions }): B => {
    let out = b
    if (p.onSuccess) out = out.onSuccess(spec(p.onSuccess)) as B
    if (p.onError) out = out.onError(spec(p.onError)) as B
    if (p.onSettled) out = out.onSettled(spec(p.onSettled)) as B
    return out
  }
  /** Where a dispatch goes: past the queue's instrumentation when the client ran its own. */
  const dispatcher = async (relay: Relay | undefined): Promise<Pick<Queue, 'dispatchMany' | 'chain' | 'batch'>> => {
    const q = await ready
    return (relay?.instrumented === true && relayed(q)) || q
  }
  const api: HostApi = {
    dispatchMany: async (specs, relay) => (await dispatcher(relay)).dispatchMany(specs.map(spec)),
    chain: async (p: ChainPlan) => {
      let b = (await dispatcher(p)).chain(...p.specs.map(spec))
      if (p.id !== undefined) b = b.withId(p.id)
      if (p.queue !== undefined) b = b.onQueue(p.queue)
      return withCallbacks(b, p).dispatch()
    },
    batch: async (p: BatchPlan) => {
      let b = (await dispatcher(p)).batch(...p.specs.map(spec))
      if (p.id !== undefined) b = b.withId(p.id)
      if (p.name !== undefined) b = b.name(p.name)
      if (p.queue !== undefined) b = b.onQueue(p.queue)
      if (p.allowFailures) b = b.allowFailures()
      if (p.onProgress) b = b.onProgress(spec(p.onProgress))
      return withCallbacks(b, p).dispatch()
    },
    schedule: async (name, when, s, opts) => (await ready).schedule(name, when, spec(s), opts),
    unschedule: async (name) => (await ready).unschedule(name),
    listSchedules: async () => (await ready).listSchedules(),
    getJob: async (id) => (await ready).getJob(id),
    listJobs: async (filter) => (await ready).listJobs(filter),
    counts: async () => (await ready).counts(),
    cancel: async (id) => (await ready).cancel(id),
    replay: async (id) => (await ready).replay(id),
    replayChain: async (id) => (await ready).replayChain(id),
    replayBatch: async (id) => (await ready).replayBatch(id),
    findBatch: async (id) => (await ready).findBatch(id),
    findChain: async (id) => (await ready).findChain(id),
    cancelBatch: async (id) => (await ready).cancelBatch(id),
    prune: async (olderThan) => (await ready).prune(olderThan),
    pause: async (name) => (await ready).pause(name),
    resume: async (name) => (await ready).resume(name),
    pausedQueues: async () => (await ready).pausedQueues(),
    drain: async (opts) => (await ready).drain(opts),
    isOnline: async () => (await ready).online,
    attachEvents(port) {
      const id = nextId++
      const entry: { port: MessagePort; off?: () => void } = { port }
      ports.set(id, entry)
      void ready.then((q) => {
        if (!ports.has(id)) return
        // Events of one tick travel as one message.
        let pending: QueueEvent[] = []
        entry.off = q.events.subscribe((e) => {
          if (pending.push(e) > 1) return
          queueMicrotask(() => {
            const batch = pending
            pending = []
            port.postMessage(batch)
          })
        })
        // In the same turn as the subscription: no change of state falls between the two.
        const state: StateMessage = { online: q.online }
        port.postMessage(state)
      }, () => undefined)
      return id
    },
    ping: () => true,
    lifeLock: () => lifeLock(),
    detachEvents(id) {
      const p = ports.get(id)
      if (!p) return
      ports.delete(id)
      p.off?.()
      p.port.close()
    },
  }
  Comlink.expose({ ...api, [REFUSE]: refuse }, onlyHostApi(ep))
}

// What a message outside the API is turned into: a call that throws, so the caller is told.
const REFUSE = 'ferry:refuse'
const refuse = (): never => {
  throw new InvalidArgumentError('a queue worker serves only the methods of the queue API')
}
const isHostMethod = (name: unknown): boolean =>
  isQueueMethod(name) || name === 'attachEvents' || name === 'detachEvents' || name === 'ping' || name === 'lifeLock'

/**
 * Comlink serves whatever property path and operation a message names: `GET`, `SET` (replace a
 * method), `CONSTRUCT` on `counts.constructor` (Function: code evaluated in the worker). What
 * `connectQueue` sends is only `APPLY` of a method of the API and `RELEASE`; every other
 * message with an id becomes a call of `refuse`, and messages without one are dropped.
 */
function onlyHostApi(ep: Comlink.Endpoint): Comlink.Endpoint {
  const filtered = new WeakMap<object, EventListener>()
  const filter = (data: unknown): unknown => {
    if (typeof data !== 'object' || data === null) return undefined
    const m = data as { id?: unknown; type?: unknown; path?: unknown }
    if (m.type === 'RELEASE' && Array.isArray(m.path) && m.path.length === 0) return data
    if (m.type === 'APPLY' && Array.isArray(m.path) && m.path.length === 1 && isHostMethod(m.path[0])) return data
    return typeof m.id === 'string' ? { id: m.id, type: 'APPLY', path: [REFUSE], argumentList: [] } : undefined
  }
  const wrap = (listener: EventListenerOrEventListenerObject): EventListener => {
    let w = filtered.get(listener)
    if (!w) {
      w = (ev: Event) => {
        const data = filter((ev as MessageEvent).data)
        if (data === undefined) return
        const out = { data, origin: (ev as MessageEvent).origin } as MessageEvent
        if (typeof listener === 'function') listener(out)
        else listener.handleEvent(out)
      }
      filtered.set(listener, w)
    }
    return w
  }
  const port = ep as Comlink.Endpoint & { close?: () => void }
  return {
    // Comlink closes an endpoint whose constructor is named MessagePort when a proxy is released.
    constructor: ep.constructor,
    close: () => port.close?.(),
    postMessage: (message: unknown, transfer?: Transferable[]) => ep.postMessage(message, transfer),
    addEventListener: (type: string, listener: EventListenerOrEventListenerObject, o?: object) => ep.addEventListener(type, wrap(listener), o),
    removeEventListener: (type: string, listener: EventListenerOrEventListenerObject, o?: object) => ep.removeEventListener(type, wrap(listener), o),
    ...(ep.start ? { start: () => ep.start?.() } : {}),
  } as Comlink.Endpoint
}

let life: Promise<string | undefined> | undefined

/**
 * Takes, once per worker, a Web Lock held until the worker dies (see `HostApi.lifeLock`), and
 * tells its name once it is held: a request the caller makes after that waits for the worker.
 */
function lifeLock(): Promise<string | undefined> {
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  if (!locks) return Promise.resolve(undefined)
  const name = `ferry:worker:${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`
  life ??= new Promise((resolve) => {
    // Never released: the lock goes with the worker.
    void locks.request(name, () => {
      resolve(name)
      return new Promise<never>(() => {})
    })
  })
  return life
}
