/**
 * Tabs and workers of one origin that open the same IndexedDB database tell each other what
 * they commit over a BroadcastChannel: engines elsewhere wake for new work at once instead of
 * polling, and every tab's queue shows the events of work done in the others (the pending-sync
 * badge is right in every tab). Notifications only: the database stays the truth, and an engine
 * that misses one finds the work at its next claim.
 *
 * Any script of the origin can post on the channel, so a message is taken only in the shape
 * this module sends, `{ from, events }`, with every event an object of a known `kind` and a
 * numeric `at`; anything else is dropped whole, and nothing throws. `queue:online` and
 * `queue:offline` are never taken from the channel: each engine's network is its own.
 *
 * @module
 */
import type { StoreBackend } from '../../core/store-backend.js'
import type { QueueEvent, QueueEventKind } from '../../core/types.js'

type Share = NonNullable<StoreBackend['share']>

/** The kinds a store's commits report; listed whole, so a kind added to QueueEvent is not forgotten. */
const SHARED: Record<Exclude<QueueEventKind, 'queue:online' | 'queue:offline'>, true> = {
  'job:dispatched': true,
  'job:waiting': true,
  'job:started': true,
  'job:progress': true,
  'job:succeeded': true,
  'job:retrying': true,
  'job:failed': true,
  'job:stalled': true,
  'job:cancelled': true,
  'job:skipped': true,
  'job:deferred': true,
  'lease:lost': true,
  'chain:started': true,
  'chain:advanced': true,
  'chain:completed': true,
  'chain:failed': true,
  'chain:cancelled': true,
  'batch:started': true,
  'batch:progressed': true,
  'batch:completed': true,
  'batch:failed': true,
  'batch:cancelled': true,
  'queue:paused': true,
  'queue:resumed': true,
  'queue:error': true,
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isEvent = (v: unknown): v is QueueEvent =>
  isRecord(v) && typeof v['kind'] === 'string' && Object.hasOwn(SHARED, v['kind']) && typeof v['at'] === 'number'

/** The events of a message of this module's shape from another sender, or undefined. */
export function parseShared(data: unknown, self: string): QueueEvent[] | undefined {
  if (!isRecord(data) || typeof data['from'] !== 'string' || data['from'] === self) return undefined
  const events = data['events']
  return Array.isArray(events) && events.every(isEvent) ? events : undefined
}

export function broadcastShare(name: string): Share & { close(): void } {
  // A channel hears every other channel of its name, this store's own sender included.
  const self = Math.random().toString(36).slice(2) + Date.now().toString(36)
  let sender: BroadcastChannel | undefined
  const open = (): BroadcastChannel => {
    const ch = new BroadcastChannel(name)
    // In Node a channel keeps the process alive; notifications must not.
    ;(ch as { unref?: () => void }).unref?.()
    return ch
  }
  const receivers = new Set<BroadcastChannel>()
  return {
    publish(events) {
      if (typeof BroadcastChannel === 'undefined') return
      sender ??= open()
      sender.postMessage({ from: self, events })
    },
    subscribe(listener) {
      if (typeof BroadcastChannel === 'undefined') return () => {}
      const ch = open()
      receivers.add(ch)
      ch.onmessage = (m: MessageEvent<unknown>) => {
        const events = parseShared(m.data, self)
        if (events) listener(events)
      }
      return () => {
        ch.close()
        receivers.delete(ch)
      }
    },
    close() {
      sender?.close()
      sender = undefined
      for (const ch of receivers) ch.close()
      receivers.clear()
    },
  }
}
