/**
 * JSON with object keys in sorted order: equal payloads give equal strings, whatever order
 * their keys were written in. The default unique key of `uniqueFor`.
 *
 * @module
 */
import { SerializationError } from './errors.js'

export function canonicalJson(value: unknown): string {
  const seen = new Set<object>()
  const walk = (v: unknown): string => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return JSON.stringify(v)
      case 'number':
        if (!Number.isFinite(v)) throw new SerializationError(`${v} has no JSON form`)
        return JSON.stringify(v)
      case 'undefined':
        return 'null'
      case 'object': {
        if (v === null) return 'null'
        if (seen.has(v)) throw new SerializationError('a value with a cycle has no JSON form')
        seen.add(v)
        let out: string
        if (Array.isArray(v)) out = `[${v.map(walk).join(',')}]`
        else if (v instanceof Date) out = JSON.stringify(v.toISOString())
        else {
          const entries = Object.keys(v)
            .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${walk((v as Record<string, unknown>)[k])}`)
          out = `{${entries.join(',')}}`
        }
        seen.delete(v)
        return out
      }
      default:
        throw new SerializationError(`a ${typeof v} has no JSON form`)
    }
  }
  return walk(value)
}
