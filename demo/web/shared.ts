/** What the demo's page and its worker share: the store choice and the network switch's channel. */

export type StoreKind = 'idb' | 'opfs'

/**
 * The network switch, on a BroadcastChannel every tab and worker of the demo listens to:
 * `state` tells the switch's position; `ask` (from a worker that just started) asks a page to
 * tell it.
 */
export const NETWORK_CHANNEL = 'ferry-demo:network'

export type NetworkMessage = { t: 'state'; on: boolean } | { t: 'ask' }

export function isNetworkMessage(v: unknown): v is NetworkMessage {
  if (typeof v !== 'object' || v === null) return false
  const m = v as Partial<Record<string, unknown>>
  return m['t'] === 'ask' || (m['t'] === 'state' && typeof m['on'] === 'boolean')
}
