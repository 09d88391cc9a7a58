/**
 * Codecs: what a queue stores in place of payloads, results, progress and errors.
 *
 * @module
 */
import type { Store } from './store.js'

/** Encodes values before they are stored and decodes them after they are read. */
export interface Codec {
  encode(value: unknown): Promise<unknown>
  decode(stored: unknown): Promise<unknown>
}

/** The store as a queue with this codec sees it. */
export function withCodec(store: Store, _codec: Codec): Store {
  return store
}
