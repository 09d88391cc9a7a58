/**
 * A network state that a test sets by hand.
 *
 * @module
 */
import type { Connectivity } from '../core/connectivity.js'

export interface ManualConnectivity extends Connectivity {
  /** Goes online or offline; listeners hear of a change at once. */
  set(online: boolean): void
}

/**
 * @example
 * const net = manualConnectivity(false)
 * const queue = createTestQueue({ connectivity: net })
 * net.set(true)
 */
export function manualConnectivity(initial = true): ManualConnectivity {
  let online = initial
  const listeners = new Set<(online: boolean) => void>()
  return {
    get online() {
      return online
    },
    set(next) {
      if (next === online) return
      online = next
      for (const l of [...listeners]) l(online)
    },
    subscribe(listener) {
      const l = (v: boolean): void => listener(v)
      listeners.add(l)
      return () => listeners.delete(l)
    },
  }
}
