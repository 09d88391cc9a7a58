/**
 * `encryptedCodec(key)`: AES-GCM encryption at rest with Web Crypto.
 *
 * Each value is written as JSON (what every store keeps: the SQLite store's strict JSON rules),
 * encrypted with a fresh random 96-bit IV, and stored as one string: a versioned prefix, then
 * the base64 of the IV and the ciphertext with its authentication tag. GCM's tag makes a wrong
 * key or a changed value fail to decrypt rather than decode into something else.
 *
 * Unique keys are stored as an HMAC-SHA-256 of them, with an HMAC key derived from the AES-GCM
 * key (see `hmacKey`): deterministic, so equal keys still collide, and unreadable without the key.
 *
 * `globalThis.crypto.subtle` is read when called, so the same code runs in browsers, workers
 * and Node (20 and later).
 *
 * @module
 */
import type { Codec } from './codec.js'
import { InvalidArgumentError, QueueError, SerializationError } from './errors.js'
import { strictJson } from './strict-json.js'

// Web Crypto's key. Core is type-checked without the DOM lib; this declaration merges with the
// DOM's and Node's, and names only what both have.
declare global {
  interface CryptoKey {
    readonly extractable: boolean
  }
}

/** The part of Web Crypto used here, as every runtime ferry supports has it. */
interface Subtle {
  encrypt(algorithm: { name: string; iv: Uint8Array }, key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer>
  decrypt(algorithm: { name: string; iv: Uint8Array }, key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer>
  importKey(format: 'raw', data: Uint8Array, algorithm: { name: 'HMAC'; hash: 'SHA-256' }, extractable: false, usages: ['sign']): Promise<CryptoKey>
  sign(algorithm: 'HMAC', key: CryptoKey, data: Uint8Array): Promise<ArrayBuffer>
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
/** Marks a unique key's digest and its version. */
const DIGEST_PREFIX = 'ferry:hmac-sha256:v1:'
/**
 * The IV reserved for deriving the HMAC key: all zeros. `encode` never uses it (it draws again
 * in the 2^-96 case it comes up), so it encrypts exactly one plaintext under a key, ever.
 */
const DERIVE_IV = new Uint8Array(IV_BYTES)
/** The one plaintext encrypted with `DERIVE_IV`: 32 bytes, an HMAC-SHA-256 key's worth. */
const DERIVE_LABEL = 'ferry unique-key digest key v1..'

/**
 * A codec that encrypts payloads, results, progress and error messages with an AES-GCM key.
 * The key must be usable to encrypt and decrypt; keep it non-extractable and store the
 * `CryptoKey` itself (IndexedDB keeps one as it is), or import it from a secret you hold.
 * Values must be JSON (plain objects, arrays, strings, finite numbers, booleans, null):
 * anything else is refused with `SerializationError`. Unique keys (`uniqueFor`, with a key or
 * without) are stored as a keyed digest, so dedup keeps working across restarts with the same
 * key, and a new key starts fresh.
 *
 * Limits: what is not a value stays readable: ids, types, queues, states, times, attempts,
 * error names and codes, chain and batch structure, schedule names and times. Values are not
 * bound to their job: whoever can write the store can move one job's encrypted payload or
 * result to another job, and it decrypts there as if it were that job's own. Encryption keeps
 * values secret and detects changed bytes; it does not protect a store someone else can write.
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
  /**
   * The HMAC key of unique keys, derived without extracting the AES key (it may be
   * non-extractable): the AES-GCM encryption of one fixed label with the one reserved IV. That
   * is sound because AES-GCM's ciphertext is the label XOR AES-CTR's keystream under the key,
   * a pseudorandom function of the key that no one without it can tell from random bytes; GCM
   * is safe as long as an IV never encrypts two plaintexts under one key, and the reserved IV
   * only ever encrypts this label (the same bytes each time, so nothing is learned from a
   * repeat) while `encode` never draws it. The derived bytes are never stored.
   */
  let hmac: Promise<CryptoKey> | undefined
  const hmacKey = (): Promise<CryptoKey> =>
    (hmac ??= (async () => {
      const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: DERIVE_IV }, key, encoder.encode(DERIVE_LABEL)))
      return subtle().importKey('raw', sealed.subarray(0, DERIVE_LABEL.length), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    })().catch((err: unknown) => {
      hmac = undefined
      throw err
    }))
  return {
    async digest(text) {
      const mac = new Uint8Array(await subtle().sign('HMAC', await hmacKey(), encoder.encode(text)))
      return DIGEST_PREFIX + toBase64(g, mac)
    },
    async encode(value) {
      const text = strictJson(value, 'the value to encrypt') ?? 'null'
      let iv = (g.crypto as WebCrypto).getRandomValues(new Uint8Array(IV_BYTES))
      while (iv.every((b) => b === 0)) iv = (g.crypto as WebCrypto).getRandomValues(new Uint8Array(IV_BYTES))
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
