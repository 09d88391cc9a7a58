/**
 * Endpoints: a Web Worker or its global scope, or a Node worker_threads `Worker` or
 * `parentPort`, as Comlink wants them.
 *
 * @module
 */
import type { Endpoint } from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { InvalidArgumentError } from '../core/errors.js'

interface NodeLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown
  off(event: string, listener: (...args: unknown[]) => void): unknown
  postMessage(message: unknown, transfer?: unknown[]): void
}

function isNodeLike(x: unknown): x is NodeLike {
  const o = x as Partial<NodeLike> | null
  return typeof o === 'object' && o !== null && typeof o.on === 'function' && typeof o.off === 'function' && typeof o.postMessage === 'function'
}

/** A Comlink endpoint for a worker, a worker's scope, or a Node port. */
export function toEndpoint(x: unknown): Endpoint {
  if (isNodeLike(x)) return nodeEndpoint(x)
  const o = x as Partial<Endpoint> | null
  if (typeof o === 'object' && o !== null && typeof o.postMessage === 'function' && typeof o.addEventListener === 'function') return o as Endpoint
  throw new InvalidArgumentError('expected a Worker, a worker scope, or a Node worker_threads Worker or MessagePort')
}

/**
 * The endpoint of the thread this code runs in, inside a worker: a dedicated worker's global
 * scope, or Node's `parentPort`. Read when called, never at import time.
 */
export function currentWorkerEndpoint(): Endpoint {
  const g = globalThis as { window?: unknown; process?: { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown } }
  if (g.window !== undefined) throw new InvalidArgumentError('exposeQueue runs inside a worker: host the queue in a dedicated Worker, not on the page')
  const wt = g.process?.getBuiltinModule?.('node:worker_threads') as { parentPort?: unknown } | undefined
  if (wt) {
    if (!wt.parentPort) throw new InvalidArgumentError('exposeQueue runs inside a worker_thread: call it in the worker, or pass an endpoint')
    return toEndpoint(wt.parentPort)
  }
  if (g.process?.versions?.node !== undefined) {
    // Node before 20.16 cannot look worker_threads up synchronously.
    throw new InvalidArgumentError("in a worker_thread, pass parentPort: exposeQueue(queue, parentPort)")
  }
  return toEndpoint(globalThis)
}
