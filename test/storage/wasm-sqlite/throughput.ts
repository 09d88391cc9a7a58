/**
 * Throughput of the SQLite store in Node: no-op jobs processed per second at concurrency 1 and
 * 8, and dispatches per second one at a time and in groups, on the file store with synchronous
 * NORMAL and FULL (and in memory, for comparison). Not a test: run it by hand.
 *
 *   npx tsx test/storage/wasm-sqlite/throughput.ts [jobs]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createQueue, job, memoryStore, type Store } from '../../../src/index.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'

const N = Number(process.argv[2] ?? 5000)
const dir = mkdtempSync(join(tmpdir(), 'ferry-throughput-'))
let files = 0

const stores: [string, () => Store][] = [
  ['sqlite file, synchronous normal', () => sqliteStore({ path: join(dir, `${++files}.db`) })],
  ['sqlite file, synchronous full', () => sqliteStore({ path: join(dir, `${++files}.db`), synchronous: 'full' })],
  ['sqlite in memory', () => sqliteStore()],
  ['memoryStore', () => memoryStore()],
]

const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`

async function dispatchOneByOne(make: () => Store, n: number): Promise<string> {
  const queue = createQueue({ store: make() })
  const t0 = performance.now()
  for (let i = 0; i < n; i++) await queue.dispatch(job('noop', { i }))
  const out = rate(n, performance.now() - t0)
  await queue.close()
  return out
}

async function dispatchGrouped(make: () => Store, n: number, group: number): Promise<string> {
  const queue = createQueue({ store: make() })
  const t0 = performance.now()
  for (let i = 0; i < n; i += group) {
    await queue.dispatchMany(Array.from({ length: Math.min(group, n - i) }, (_, k) => job('noop', { i: i + k })))
  }
  const out = rate(n, performance.now() - t0)
  await queue.close()
  return out
}

async function processJobs(make: () => Store, n: number, concurrency: number): Promise<string> {
  const queue = createQueue({ store: make(), concurrency })
  for (let i = 0; i < n; i += 1000) {
    await queue.dispatchMany(Array.from({ length: Math.min(1000, n - i) }, (_, k) => job('noop', { i: i + k })))
  }
  let done = 0
  const finished = new Promise<void>((resolve) =>
    queue.events.subscribe((e) => {
      if (e.kind === 'job:succeeded' && ++done === n) resolve()
    }),
  )
  queue.register('noop', () => undefined)
  const t0 = performance.now()
  await queue.start()
  await finished
  const out = rate(n, performance.now() - t0)
  await queue.close()
  return out
}

console.log(`ferry SQLite WASM store, Node ${process.version}, ${N} no-op jobs per run\n`)
console.log('| store | dispatch one at a time | dispatchMany (100 per call) | processed, concurrency 1 | processed, concurrency 8 |')
console.log('|---|---|---|---|---|')
for (const [name, make] of stores) {
  const one = await dispatchOneByOne(make, Math.min(N, name.includes('full') ? 1000 : N))
  const grouped = await dispatchGrouped(make, N, 100)
  const c1 = await processJobs(make, N, 1)
  const c8 = await processJobs(make, N, 8)
  console.log(`| ${name} | ${one} | ${grouped} | ${c1} | ${c8} |`)
}
rmSync(dir, { recursive: true, force: true })
