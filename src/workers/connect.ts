/**
 * `connectQueue`: the page's or main thread's client of a queue that a worker serves with
 * `exposeQueue`, over comlink. The queue's events come on a MessageChannel of their own, opened
 * with the first subscriber and closed with the last.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { Emitter } from '../core/emitter.js'
import type { JobMap, QueueEvent, Subscribable } from '../core/types.js'
import { clientOver, type QueueClient, type Transport } from './client.js'
import { toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import type { HostApi } from './protocol.js'

/**
 * A client of the queue that a worker serves with `exposeQueue`.
 * @example
 * const worker = new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module' })
 * const queue = connectQueue<Jobs>(worker)
 * await queue.dispatch(job('photo:upload', { name }))
 */
export function connectQueue<J extends JobMap = JobMap>(worker: unknown): QueueClient<J> {
  installErrorTransfer()
  return clientOver<J>(comlinkTransport(Comlink.wrap<HostApi>(toEndpoint(worker))))
}

/** Calls and events over a comlink connection to `exposeQueue`. */
export function comlinkTransport(remote: Comlink.Remote<HostApi>): Transport {
  let channel: { port: MessagePort; id: Promise<number> } | undefined
  const emitter = new Emitter<QueueEvent>()
  const open = (): void => {
    if (channel) return
    const { port1, port2 } = new MessageChannel()
    port1.onmessage = (m: MessageEvent<QueueEvent[]>) => {
      for (const e of m.data) emitter.emit(e)
    }
    channel = { port: port1, id: remote.attachEvents(Comlink.transfer(port2, [port2])) }
  }
  const shut = async (): Promise<void> => {
    const c = channel
    if (!c) return
    channel = undefined
    c.port.onmessage = null
    c.port.close()
    await remote.detachEvents(await c.id)
  }
  const events: Subscribable<QueueEvent> = {
    subscribe(listener) {
      const off = emitter.subscribe(listener)
      open()
      return () => {
        off()
        if (emitter.listenerCount === 0) void shut().catch(() => {})
      }
    },
  }
  return {
    call: (method, args) => (remote[method] as unknown as (...a: unknown[]) => Promise<never>)(...args),
    events,
    async close() {
      try {
        await shut()
      } finally {
        remote[Comlink.releaseProxy]()
      }
    },
  }
}
