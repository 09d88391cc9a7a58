/**
 * Bytes as base64 text, the one form of a binary body that every store keeps (the SQLite and
 * Postgres stores keep JSON). Node's `Buffer` and `Uint8Array.prototype.toBase64` (where the
 * runtime has it) convert natively; elsewhere `btoa` and `atob` go through the bytes in slices,
 * so a large body never becomes one huge binary string.
 *
 * @module
 */

/** A binary body as it is stored: its bytes in base64 and its media type (may be empty). */
export interface StoredBytes {
  base64: string
  type: string
}

interface NodeBuffer {
  from(data: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64'): string }
  from(data: string, encoding: 'base64'): Uint8Array
}
interface NativeBase64 {
  toBase64?: (this: Uint8Array) => string
}
interface NativeFromBase64 {
  fromBase64?: (text: string) => Uint8Array<ArrayBuffer>
}

/** Read when called: nothing platform-specific is touched at import time. */
const nodeBuffer = (): NodeBuffer | undefined => (globalThis as { Buffer?: NodeBuffer }).Buffer

/** Bytes per `btoa` slice: a multiple of 3, so the slices' base64 joins with no padding inside. */
const ENCODE_SLICE = 3 * 0x4000
/** Characters per `atob` slice: a multiple of 4. */
const DECODE_SLICE = 4 * 0x4000

export function toBase64(bytes: Uint8Array): string {
  const native = (Uint8Array.prototype as NativeBase64).toBase64
  if (native) return native.call(bytes)
  const buffer = nodeBuffer()
  if (buffer) return buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
  const parts: string[] = []
  for (let i = 0; i < bytes.length; i += ENCODE_SLICE) {
    const slice = bytes.subarray(i, i + ENCODE_SLICE)
    let text = ''
    // By 4096: String.fromCharCode with a whole large slice overflows the call stack.
    for (let j = 0; j < slice.length; j += 4096) text += String.fromCharCode(...slice.subarray(j, j + 4096))
    parts.push(btoa(text))
  }
  return parts.join('')
}

export function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  const native = (Uint8Array as NativeFromBase64).fromBase64
  if (native) return native(base64)
  const buffer = nodeBuffer()
  if (buffer) {
    const b = buffer.from(base64, 'base64')
    return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer)
  }
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0
  const out = new Uint8Array(Math.floor((base64.length * 3) / 4) - padding)
  let at = 0
  for (let i = 0; i < base64.length; i += DECODE_SLICE) {
    const text = atob(base64.slice(i, i + DECODE_SLICE))
    for (let j = 0; j < text.length; j++) out[at++] = text.charCodeAt(j)
  }
  return out
}

/** Any body `Response` can read (Blob, ArrayBuffer, a typed array, FormData, URLSearchParams) as bytes with its type. */
export async function storedBytesOf(body: BodyInit, type?: string): Promise<StoredBytes> {
  const res = new Response(body)
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { base64: toBase64(bytes), type: type ?? res.headers.get('content-type') ?? '' }
}
