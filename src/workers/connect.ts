/**
 * `connectQueue`: the page's or main thread's client of a queue that a worker serves with
 * `exposeQueue`, over comlink. The queue's state and events come on a MessageChannel of their
 * own, open from connecting until `close()`.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { Emitter } from '../core/emitter.js'
import { QueueClosedError } from '../core/errors.js'
import type { JobMap, QueueEvent, Subscribable } from '../core/types.js'
import { checkInstrumentation } from '../core/instrumentation.js'
import { clientOver, type ClientOptions, type QueueClient, type Transport } from './client.js'
import { toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import { isStateMessage, OnlineView } from './online.js'
import type { HostApi } from './protocol.js'

/**
 * A client of the queue that a worker serves with `exposeQueue`. With `instrumentation`, each
 * dispatch is instrumented here, in the calling code's context (see `ClientOptions`).
 * @example
 * const worker = new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module' })
 * const queue = connectQueue<Jobs>(worker, { instrumentation: [tracing()] })
 * await queue.dispatch(job('photo:upload', { name }))
 */
export function connectQueue<J extends JobMap = JobMap>(worker: unknown, options: ClientOptions = {}): QueueClient<J> {
  // Checked before anything is connected: a bad option leaves no transport open.
  const instrumentation = checkInstrumentation(options.instrumentation)
  return clientOver<J>(workerTransport(worker), { instrumentation })
}

/**
 * How long a worker that reported an error has to answer a ping before it is taken for dead.
 * A worker that failed to load, or threw before `exposeQueue` listened, never answers; one that
 * only reported a stray error of the app answers at once.
 */
export const WORKER_PING_MS = 5_000

interface NodeWorkerLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown
  off(event: string, listener: (...args: unknown[]) => void): unknown
}
const isNodeWorker = (x: unknown): x is NodeWorkerLike =>
  typeof (x as Partial<NodeWorkerLike> | null)?.on === 'function' && typeof (x as Partial<NodeWorkerLike> | null)?.off === 'function'
const isEventTarget = (x: unknown): x is EventTarget =>
  typeof (x as Partial<EventTarget> | null)?.addEventListener === 'function' && typeof (x as Partial<EventTarget> | null)?.removeEventListener === 'function'

/** A transport to a worker; `close(reason)` rejects the calls still pending with `reason`. */
export interface WorkerTransport extends Transport {
  close(reason?: unknown): Promise<void>
  /**
   * The worker's `online` once it has told (the first message on the event channel), read at
   * that moment or later: never older than an event already delivered. Rejects as calls do
   * once the worker is gone.
   */
  state(): Promise<boolean>
}

/**
 * Calls and events over comlink to the `exposeQueue` of `worker`, which the transport watches:
 * once the worker is gone (a Node worker's `exit` or `error`; a Web Worker's `error` event
 * followed by an unanswered ping; with `watch`, the release of the worker's life lock), every
 * pending and later call rejects with `QueueClosedError`, its cause the worker's error, and
 * `onGone` is told. `close()` rejects the calls still pending as well: a browser says nothing
 * when a Web Worker is terminated.
 */
export function workerTransport(worker: unknown, onGone?: (err: QueueClosedError) => void, o: { watch?: boolean } = {}): WorkerTransport {
  installErrorTransfer()
  const remote = Comlink.wrap<HostApi>(toEndpoint(worker))
  const pending = new Set<(err: unknown) => void>()
  let gone: QueueClosedError | undefined
  const fail = (err: QueueClosedError): void => {
    if (gone) return
    gone = err
    unwatch()
    watching.abort()
    for (const reject of [...pending]) reject(err)
    pending.clear()
    onGone?.(err)
  }
  const died = (message: string, cause: unknown): QueueClosedError =>
    new QueueClosedError(`the queue worker ${message}`, { cause })

  let pinging = false
  /** Fails with `err` unless the worker answers a ping within WORKER_PING_MS. */
  const ping = (err: () => QueueClosedError): void => {
    if (gone || pinging) return
    pinging = true
    const timer = setTimeout(() => fail(err()), WORKER_PING_MS)
    // Any answer, even a refusal, says the worker still serves.
    const alive = (): void => {
      clearTimeout(timer)
      pinging = false
    }
    remote.ping().then(alive, alive)
  }
  const onError = (e: Event): void => {
    // A plain Event, not an ErrorEvent: the script could not be fetched or parsed, nothing runs.
    if (typeof ErrorEvent === 'function' && !(e instanceof ErrorEvent)) {
      fail(died('script failed to load', new Error('the worker script could not be loaded')))
      return
    }
    const ev = e as Partial<ErrorEvent>
    const cause: unknown = ev.error ?? new Error(ev.message || 'the worker script failed to run')
    ping(() => died(`reported an error and stopped answering: ${String((cause as Error).message ?? cause)}`, cause))
  }
  // With `watch`, the worker's life lock (see HostApi.lifeLock) tells when a worker dies without
  // an event (terminated, out of memory). No timer: a worker busy for a long while is alive.
  const watching = new AbortController()
  const locks = (globalThis as { navigator?: { locks?: LockManager } }).navigator?.locks
  // Calls go out once the watch is armed: a worker killed right after answering one is seen.
  let armed: Promise<unknown> = Promise.resolve()
  if (o.watch && locks) {
    armed = remote.lifeLock().then(
      (name) => {
        if (name === undefined || gone) return
        locks
          .request(name, { signal: watching.signal }, () => fail(died('stopped (terminated or killed)', new Error('the worker is gone'))))
          .catch(() => undefined)
      },
      () => undefined,
    )
  }
  const onExit = (code: unknown): void => fail(died(`exited (code ${String(code)})`, new Error(`worker exited with code ${String(code)}`)))
  const onNodeError = (err: unknown): void => fail(died(`failed: ${String((err as Error | undefined)?.message ?? err)}`, err))
  let unwatch = (): void => {}
  if (isNodeWorker(worker)) {
    worker.on('exit', onExit)
    worker.on('error', onNodeError)
    unwatch = () => {
      worker.off('exit', onExit)
      worker.off('error', onNodeError)
    }
  } else if (isEventTarget(worker)) {
    worker.addEventListener('error', onError)
    unwatch = () => worker.removeEventListener('error', onError)
  }

  const inner = comlinkTransport(remote)
  return {
    call: (method, args) => {
      if (gone) return Promise.reject(gone)
      return new Promise((resolve, reject) => {
        const settle = (err: unknown): void => {
          pending.delete(settle)
          reject(err)
        }
        pending.add(settle)
        armed.then(() => inner.call(method, args)).then(
          (value) => {
            pending.delete(settle)
            resolve(value)
          },
          settle,
        )
      })
    },
    events: inner.events,
    get online() {
      return inner.online
    },
    state: () => {
      if (gone) return Promise.reject(gone)
      return new Promise((resolve, reject) => {
        const settle = (err: unknown): void => {
          pending.delete(settle)
          reject(err)
        }
        pending.add(settle)
        void inner.told.then(() => {
          pending.delete(settle)
          resolve(inner.online)
        })
      })
    },
    async close(reason?: unknown) {
      unwatch()
      watching.abort()
      const closedErr = new QueueClosedError('the queue client is closed')
      for (const reject of [...pending]) reject(reason ?? closedErr)
      pending.clear()
      gone ??= closedErr
      await inner.close()
    },
  }
}

/**
 * Calls and events over a comlink connection to `exposeQueue`. The event channel is open for
 * the transport's whole life: the host's state comes on it first, and its `queue:online` /
 * `queue:offline` events keep `online` current whether anyone listens to `events` or not.
 */
export function comlinkTransport(remote: Comlink.Remote<HostApi>): Transport & { readonly told: Promise<void> } {
  const emitter = new Emitter<QueueEvent>()
  const view = new OnlineView(emitter)
  const { port1, port2 } = new MessageChannel()
  port1.onmessage = (m: MessageEvent<unknown>) => {
    if (isStateMessage(m.data)) view.learn(m.data.online)
    else if (Array.isArray(m.data)) for (const e of m.data as QueueEvent[]) view.deliver(e)
  }
  // Node: a port with a listener keeps the process alive; the worker does that while it runs.
  ;(port1 as { unref?: () => void }).unref?.()
  let channel: { port: MessagePort; id: Promise<number> } | undefined = { port: port1, id: remote.attachEvents(Comlink.transfer(port2, [port2])) }
  // A worker that never serves never answers; close() does not wait for it.
  channel.id.catch(() => undefined)
  const events: Subscribable<QueueEvent> = { subscribe: (listener) => emitter.subscribe(listener) }
  return {
    call: (method, args) => (remote[method] as unknown as (...a: unknown[]) => Promise<never>)(...args),
    events,
    get online() {
      return view.online
    },
    told: view.told,
    async close() {
      const c = channel
      channel = undefined
      if (c) {
        c.port.onmessage = null
        c.port.close()
      }
      // Posted in order, never awaited: a dead or terminated worker answers nothing, and close
      // must not wait for it.
      const detached = c ? c.id.then((id) => void remote.detachEvents(id).catch(() => undefined)) : Promise.resolve()
      void detached.catch(() => undefined).then(() => remote[Comlink.releaseProxy]())
      return Promise.resolve()
    },
  }
}
