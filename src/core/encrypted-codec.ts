/**
 * `encryptedCodec(key)`: AES-GCM encryption at rest with Web Crypto.
 *
 * Each value is written as JSON (what every store keeps: the SQLite store's strict JSON rules),
 * encrypted with a fresh random 96-bit IV, and stored as one string: a versioned prefix, then
 * the base64 of the IV and the ciphertext with its authentication tag. GCM's tag makes a wrong
 * key or a changed value fail to decrypt rather than decode into something else.
 *
 * `globalThis.crypto.subtle` is read when called, so the same code runs in browsers, workers
 * and Node (20 and later).
 *
 * @module
 */
import type { Codec } from './codec.js'
import { InvalidArgumentError, QueueError, SerializationError } from './errors.js'
import { strictJson } from './strict-json.js'

declare global {
  /**
   * Web Crypto's key. Core is type-checked without the DOM lib; this declaration merges with
   * the DOM's and Node's, and names only what both have.
   */
  interface CryptoKey {
    readonly extractable: boolean
  }
}

/** The part of Web Crypto used here, as every runtime ferry supports has it. */
interface Subtle {
  encrypt(algorithm: { name: string; iv: Uint8Array }, key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer>
  decrypt(algorithm: { name: string; iv: Uint8Array }, key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer>
}
interface WebCrypto {
  subtle: Subtle
  getRandomValues(array: Uint8Array): Uint8Array
}
interface KeyShape {
  type?: unknown
  algorithm?: { name?: unknown }
  usages?: unknown
}
interface Globals {
  crypto?: WebCrypto
  TextEncoder: new () => { encode(text: string): Uint8Array }
  TextDecoder: new (label?: string, options?: { fatal?: boolean }) => { decode(bytes: Uint8Array): string }
  btoa(binary: string): string
  atob(base64: string): string
}

/** Marks the stored form and its version: a later format gets a new prefix and reads both. */
const PREFIX = 'ferry:aes-gcm:v1:'
const IV_BYTES = 12

/**
 * A codec that encrypts payloads, results, progress and error messages with an AES-GCM key.
 * The key must be usable to encrypt and decrypt; keep it non-extractable and store the
 * `CryptoKey` itself (IndexedDB keeps one as it is), or import it from a secret you hold.
 * Values must be JSON (plain objects, arrays, strings, finite numbers, booleans, null):
 * anything else is refused with `SerializationError`.
 * @example
 * const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
 * const queue = createQueue({ store, codec: encryptedCodec(key) })
 */
export function encryptedCodec(key: CryptoKey): Codec {
  checkKey(key)
  const g = globalThis as unknown as Globals
  const subtle = (): Subtle => {
    const s = g.crypto?.subtle
    if (!s) throw new QueueError('encryptedCodec needs Web Crypto (globalThis.crypto.subtle), which this runtime lacks', { code: 'UNSUPPORTED' })
    return s
  }
  subtle()
  const encoder = new g.TextEncoder()
  const decoder = new g.TextDecoder('utf-8', { fatal: true })
  return {
    async encode(value) {
      const text = strictJson(value, 'the value to encrypt') ?? 'null'
      const iv = (g.crypto as WebCrypto).getRandomValues(new Uint8Array(IV_BYTES))
      const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(text)))
      const bytes = new Uint8Array(IV_BYTES + sealed.length)
      bytes.set(iv)
      bytes.set(sealed, IV_BYTES)
      return PREFIX + toBase64(g, bytes)
    },
    async decode(stored) {
      if (typeof stored !== 'string' || !stored.startsWith(PREFIX)) {
        throw new SerializationError('the stored value was not written by encryptedCodec', { code: 'DECODE_FAILED' })
      }
      let bytes: Uint8Array
      try {
        bytes = fromBase64(g, stored.slice(PREFIX.length))
      } catch (err) {
        throw new SerializationError('the stored value is not valid base64', { code: 'DECODE_FAILED', cause: err })
      }
      if (bytes.length <= IV_BYTES) throw new SerializationError('the stored value is too short', { code: 'DECODE_FAILED' })
      let plain: ArrayBuffer
      try {
        plain = await subtle().decrypt({ name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES) }, key, bytes.subarray(IV_BYTES))
      } catch (err) {
        throw new SerializationError('the key does not decrypt the stored value (a wrong key, or the value was changed)', {
          code: 'DECODE_FAILED',
          cause: err,
        })
      }
      try {
        return JSON.parse(decoder.decode(new Uint8Array(plain))) as unknown
      } catch (err) {
        throw new SerializationError('the decrypted value is not JSON', { code: 'DECODE_FAILED', cause: err })
      }
    },
  }
}

function checkKey(key: unknown): void {
  const k = key as KeyShape | null
  const usages = typeof k === 'object' && k !== null && Array.isArray(k.usages) ? (k.usages as unknown[]) : undefined
  if (
    typeof k !== 'object' ||
    k === null ||
    k.type !== 'secret' ||
    k.algorithm?.name !== 'AES-GCM' ||
    !usages?.includes('encrypt') ||
    !usages.includes('decrypt')
  ) {
    throw new InvalidArgumentError(
      "encryptedCodec needs an AES-GCM CryptoKey usable to 'encrypt' and 'decrypt': " +
        "crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])",
    )
  }
}

/** btoa takes a binary string; built in slices so a large value does not overflow the call's arguments. */
function toBase64(g: Globals, bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return g.btoa(binary)
}

function fromBase64(g: Globals, text: string): Uint8Array {
  const binary = g.atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}
