/**
 * Where a sample's time goes: each profile frame (function name and script URL) falls in one
 * category, the first whose test it passes, in this order. Self time only: a frame's category
 * gets the samples taken while that frame was on top of the stack.
 *
 * @module
 */
import { JSON_FRAMES } from './json-probe.js'

export interface Frame {
  functionName: string
  url: string
  /** 0-based; names an anonymous function's place. */
  lineNumber?: number
}

export interface Category {
  name: string
  /** What it holds, for the results file. */
  holds: string
  test(f: Frame): boolean
}

const under = (f: Frame, ...parts: string[]) => parts.some((p) => f.url.includes(p))
/** ferry's source, by its path under src/ (tsx and Vite serve it as is; Vite serves a pre-bundled library from deps/). */
const src = (f: Frame, dir: string) => f.url.includes(`/src/${dir}`)

/** The engine loop's modules in src/core; the other core modules are its operations. */
const ENGINE = /\/src\/core\/(runner|attempt|claim-ahead|renewal|engine|middleware|emitter|vitals|liveness|network-gate|due-times|clock|slice|queue)\.ts/

const VFS_FUNCTION = /^x[A-Z][A-Za-z]+$|sahPool|SAHPool|OpfsSAH/
/** node:fs's native bindings, which the profile shows without a script. */
const FS_BINDING = /^(writeBuffer|writeBuffers|writeString|read|readBuffers|fsync|fdatasync|ftruncate|fstat|open|close)$/

export const CATEGORIES: readonly Category[] = [
  { name: 'idle', holds: '(idle): the thread waits (for the disk, IndexedDB, a timer)', test: (f) => f.functionName === '(idle)' },
  { name: 'GC', holds: '(garbage collector)', test: (f) => f.functionName === '(garbage collector)' },
  { name: 'JSON', holds: '`JSON.parse` and `JSON.stringify` (through `json-probe.ts`), ferry\'s canonical and strict JSON', test: (f) => (JSON_FRAMES as readonly string[]).includes(f.functionName) || under(f, 'canonical-json', 'strict-json') },
  {
    name: 'storage engine / VFS',
    holds: "SQLite's WASM code, the VFS (ferry's node:fs VFS, opfs-sahpool's methods), node:fs and its native calls, the idb library (which reads IndexedDB's results)",
    test: (f) =>
      f.url.startsWith('wasm://') ||
      /^\$?(sqlite3|wasm-function)/.test(f.functionName) ||
      (under(f, '@sqlite.org/sqlite-wasm') && VFS_FUNCTION.test(f.functionName)) ||
      (f.url === '' && FS_BINDING.test(f.functionName)) ||
      under(f, 'node-vfs', 'node-file', 'lock-file', 'vfs-kill-switch', '/wasm-sqlite/opfs', 'node:fs', 'node:internal/fs', '/node_modules/idb/', '/deps/idb.js'),
  },
  {
    name: 'SQL statement binding',
    holds: "sqlite-wasm's JS API (prepare, bind, step, column reads, its heap) and ferry's statements.ts and binding.ts",
    test: (f) => under(f, '@sqlite.org/sqlite-wasm', '/wasm-sqlite/statements', '/wasm-sqlite/binding'),
  },
  {
    name: 'ferry store',
    holds: "the rest of ferry's stores (src/storage: rows, transactions, schema) and the memory store (src/core/memory-store.ts)",
    test: (f) => src(f, 'storage/') || src(f, 'core/memory-store'),
  },
  { name: 'engine loop', holds: 'src/core: runner, attempt, claim-ahead, queue, vitals, emitter and the other modules of the loop', test: (f) => ENGINE.test(f.url) },
  { name: 'ferry core operations', holds: 'the rest of src/core (operations, store definition, transitions, ids) and the libraries it calls (nanoid)', test: (f) => src(f, 'core/') || under(f, '/nanoid/', '/deps/nanoid.js') },
  { name: 'handler', holds: "the bench's no-op handler and its counter (bench/)", test: (f) => under(f, '/bench/') },
  {
    name: 'runtime',
    holds: '(program): native code outside JS (bindings, IPC, compilation), and Node or Blink internals (microtasks, timers)',
    test: (f) => f.functionName === '(program)' || f.url.startsWith('node:') || f.url === '',
  },
  { name: 'other', holds: 'anything else (other libraries, tsx, Vite)', test: () => true },
]

export function categoryOf(f: Frame): string {
  return (CATEGORIES.find((c) => c.test(f)) ?? CATEGORIES[CATEGORIES.length - 1])?.name ?? 'other'
}
