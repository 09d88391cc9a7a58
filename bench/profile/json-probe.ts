/**
 * V8's sampling profiler counts the time spent inside built-ins such as `JSON.parse` as the
 * calling function's own: JSON would hide in every caller. Profiled runs import this first; it
 * puts a named JS function in front of `JSON.parse` and `JSON.stringify`, so their time shows
 * as these two frames (one extra call each, nothing else changes).
 *
 * @module
 */
const parse = JSON.parse.bind(JSON)
const stringify = JSON.stringify.bind(JSON)

/** The names the categories look for (`categories.ts`). */
export const JSON_FRAMES = ['ferryProfileJsonParse', 'ferryProfileJsonStringify'] as const

JSON.parse = function ferryProfileJsonParse(text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown {
  return parse(text, reviver)
} as typeof JSON.parse
JSON.stringify = function ferryProfileJsonStringify(value: unknown, replacer?: unknown, space?: string | number): string {
  return stringify(value, replacer as Parameters<typeof JSON.stringify>[1], space)
} as typeof JSON.stringify
