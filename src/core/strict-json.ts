/**
 * JSON that reads back as what was written, or an error: what the SQLite store keeps payloads,
 * results and progress values in, and what `encryptedCodec` encrypts.
 *
 * `JSON.stringify` changes what it cannot represent without a word: a function or `undefined`
 * in an array becomes `null`, a Date a string, a Map `{}`, NaN `null`, and a BigInt or a cycle
 * throws a plain TypeError. Here each of those is a `SerializationError` that names where the
 * value is, so nothing is stored that would come back different.
 *
 * What is accepted: `null`, booleans, strings, finite numbers, arrays without holes,
 * `undefined` or named properties, and plain objects (prototype `Object.prototype` or `null`) with string keys.
 * An object property whose value is `undefined` is left out, as `JSON.stringify` does: reading
 * it back gives a missing property, which reads as `undefined` again. Dates are refused rather
 * than turned into strings: pass `date.toISOString()` or `date.getTime()` instead. `-0` reads
 * back as `0`, the one difference kept, since arithmetic produces it so easily.
 *
 * @module
 */
import { SerializationError } from './errors.js'

/** The JSON text of `value`, or `undefined` for `undefined` itself. */
export function strictJson(value: unknown, what = 'value'): string | undefined {
  if (value === undefined) return undefined
  check(value, what, new Set())
  return JSON.stringify(value)
}

function check(v: unknown, path: string, seen: Set<object>): void {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return
    case 'number':
      if (!Number.isFinite(v)) fail(path, `${v} has no JSON form`)
      return
    case 'object': {
      if (v === null) return
      if (seen.has(v)) fail(path, 'it refers back to itself (a cycle)')
      seen.add(v)
      if (Array.isArray(v)) {
        if (Object.keys(v).length > v.length) {
          const name = Object.keys(v).find((k) => !/^(0|[1-9]\d*)$/.test(k)) ?? ''
          fail(`${path}.${name}`, 'a named property on an array has no JSON form')
        }
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) fail(`${path}[${i}]`, 'an array hole has no JSON form')
          const item: unknown = v[i]
          if (item === undefined) fail(`${path}[${i}]`, 'undefined in an array would read back as null')
          check(item, `${path}[${i}]`, seen)
        }
      } else {
        const proto: unknown = Object.getPrototypeOf(v)
        if (proto !== Object.prototype && proto !== null) {
          const name = (v as { constructor?: { name?: unknown } }).constructor?.name
          const hint = v instanceof Date ? ': store date.toISOString() or date.getTime() instead' : ''
          fail(path, `a ${typeof name === 'string' && name !== '' ? name : 'class instance'} is not plain JSON${hint}`)
        }
        if (Object.getOwnPropertySymbols(v).length > 0) fail(path, 'symbol keys have no JSON form')
        for (const key of Object.keys(v)) {
          const item = (v as Record<string, unknown>)[key]
          if (item !== undefined) check(item, `${path}.${key}`, seen)
        }
      }
      seen.delete(v)
      return
    }
    default:
      // function, symbol, bigint
      fail(path, `a ${typeof v} has no JSON form`)
  }
}

function fail(path: string, why: string): never {
  throw new SerializationError(`cannot store ${path} as JSON: ${why}`)
}
