/**
 * Bytes as base64 text, the one form of a binary body that every store keeps (the SQLite and
 * Postgres stores keep JSON). `btoa` and `atob` exist in browsers, workers and Node alike.
 *
 * @module
 */

/** A binary body as it is stored: its bytes in base64 and its media type (may be empty). */
export interface StoredBytes {
  base64: string
  type: string
}

const CHUNK = 0x8000

export function toBase64(bytes: Uint8Array): string {
  let text = ''
  // In slices: String.fromCharCode with a whole large buffer overflows the call stack.
  for (let i = 0; i < bytes.length; i += CHUNK) text += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(text)
}

export function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64)
  const out = new Uint8Array(text.length)
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i)
  return out
}

/** Any body `Response` can read (Blob, ArrayBuffer, a typed array, FormData, URLSearchParams) as bytes with its type. */
export async function storedBytesOf(body: BodyInit, type?: string): Promise<StoredBytes> {
  const res = new Response(body)
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { base64: toBase64(bytes), type: type ?? res.headers.get('content-type') ?? '' }
}
