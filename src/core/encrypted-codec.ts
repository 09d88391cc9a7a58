/**
 * `encryptedCodec(key)`: AES-GCM encryption at rest with Web Crypto.
 *
 * @module
 */
import type { Codec } from './codec.js'

export function encryptedCodec(_key: CryptoKey): Codec {
  throw new Error('encryptedCodec: not built yet')
}
