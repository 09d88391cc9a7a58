/**
 * Tabs and workers of one origin that open the same IndexedDB database tell each other what
 * they commit over a BroadcastChannel: engines elsewhere wake for new work at once instead of
 * polling, and every tab's queue shows the events of work done in the others (the pending-sync
 * badge is right in every tab). Notifications only: the database stays the truth, and an engine
 * that misses one finds the work at its next claim.
 *
 * @module
 */
import type { StoreBackend } from '../../core/store-backend.js'
import type { QueueEvent } from '../../core/types.js'

type Share = NonNullable<StoreBackend['share']>

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
      ch.onmessage = (m: MessageEvent<{ from: string; events: QueueEvent[] }>) => {
        if (m.data.from !== self) listener(m.data.events)
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
