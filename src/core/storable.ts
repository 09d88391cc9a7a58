/**
 * The values no store can keep: what every store refuses in a payload, a result or a progress
 * value, before anything is written.
 *
 * A function or a symbol has no stored form anywhere. A cycle has none in JSON (the SQLite
 * store) and IndexedDB's structured clone would keep it, so a queue that worked on one store
 * would fail on another: refusing it everywhere keeps one rule whatever the store. Symbol keys
 * are refused because every store drops them without a word, and so are properties set on a
 * Map or a Set (structured clone keeps only the entries). A value that appears twice
 * without containing itself is fine.
 *
 * Stores may refuse more: the SQLite store keeps JSON, so it also refuses BigInt, NaN, Dates,
 * Maps and class instances (see its `strict-json.ts`).
 *
 * @module
 */
import { SerializationError } from './errors.js'

/**
 * Throws a `SerializationError` that says where, if `value` holds a function, a symbol, a
 * symbol key or a cycle, anywhere an own enumerable key leads (an array's named properties
 * too), or a property set on a Map or Set, if it is nested too deeply to read, or if reading
 * it throws (the error is its `cause`).
 * `what` names the value (`payload`), `of` whose it is (`job abc`).
 */
export function checkStorable(value: unknown, what: string, of: string): void {
  try {
    walk(value, what, new Set(), of)
  } catch (err) {
    if (err instanceof SerializationError) throw err
    // The walk ran out of stack: so would every store's reader (JSON, structured clone).
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new SerializationError(`cannot store ${what} of ${of}: it is nested too deeply`, { cause: err })
    }
    // Reading the value threw (a revoked Proxy, a getter that throws): no store could read it
    // either, so it is the value's fault, not the store's.
    throw new SerializationError(`cannot store ${what} of ${of}: reading it threw (${describeError(err)})`, { cause: err })
  }
}

function walk(v: unknown, path: string, ancestors: Set<object>, of: string): void {
  if (typeof v === 'function' || typeof v === 'symbol') fail(path, of, `a ${typeof v} cannot be stored`)
  if (typeof v !== 'object' || v === null || opaque(v)) return
  if (ancestors.has(v)) fail(path, of, 'it refers back to itself (a cycle)')
  ancestors.add(v)
  if (Object.getOwnPropertySymbols(v).length > 0) fail(path, of, 'symbol keys cannot be stored')
  if (v instanceof Map || v instanceof Set) {
    // Structured clone keeps only the entries of a Map or Set, and JSON nothing of them.
    if (Object.keys(v).length > 0) fail(path, of, `properties set on a ${v instanceof Map ? 'Map' : 'Set'} are not kept by any store`)
    if (v instanceof Map) {
      for (const [k, item] of v) {
        walk(k, `${path}<key>`, ancestors, of)
        walk(item, `${path}.get(${describeKey(k)})`, ancestors, of)
      }
    } else {
      for (const item of v) walk(item, `${path}<item>`, ancestors, of)
    }
  } else {
    // Own enumerable keys: an array's elements (holes have none) and any named property on it.
    const array = Array.isArray(v)
    for (const key of Object.keys(v)) {
      const at = array && /^(0|[1-9]\d*)$/.test(key) ? `${path}[${key}]` : `${path}.${key}`
      walk((v as Record<string, unknown>)[key], at, ancestors, of)
    }
  }
  ancestors.delete(v)
}

/** Objects kept as they are, whose contents need no walk (and a large buffer no slow one). */
function opaque(v: object): boolean {
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer || v instanceof Date || v instanceof RegExp) return true
  // Read when called: core touches no platform global at import time, and Node 20 has Blob.
  const Blob = (globalThis as { Blob?: abstract new (...a: never[]) => object }).Blob
  return Blob !== undefined && v instanceof Blob
}

function describeKey(k: unknown): string {
  return typeof k === 'string' ? JSON.stringify(k) : typeof k === 'number' || typeof k === 'boolean' ? String(k) : '…'
}

function describeError(err: unknown): string {
  try {
    return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  } catch {
    return 'an unreadable error'
  }
}

function fail(path: string, of: string, why: string): never {
  throw new SerializationError(`cannot store ${path} of ${of}: ${why}`)
}
