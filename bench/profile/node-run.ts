/**
 * One profiled run in Node, started by `main.ts` under `node --cpu-prof`:
 * `node --cpu-prof … --import tsx bench/profile/node-run.ts <memory|file-normal> <concurrency> <jobs> <out.json> <tmpdir>`.
 * Writes the run's jobs and time, and the window to keep from the profile, in the profile's
 * clock (microseconds of the monotonic clock, as `process.hrtime`).
 *
 * @module
 */
import './json-probe.js'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { memoryStore, type Store } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { processForProfile } from './run.js'

const [store, c, n, out, dir] = process.argv.slice(2)
if (store === undefined || c === undefined || n === undefined || out === undefined || dir === undefined) {
  throw new Error('usage: node-run.ts <memory|file-normal> <concurrency> <jobs> <out.json> <tmpdir>')
}
const open = (): Store => {
  if (store === 'memory') return memoryStore()
  if (store === 'file-normal') return sqliteStore({ path: join(dir, `profile-${process.pid}.db`), synchronous: 'normal' })
  throw new Error(`no Node store ${store}`)
}
const window: { start?: number; end?: number } = {}
const micros = () => Number(process.hrtime.bigint() / 1000n)
const run = await processForProfile(open(), { concurrency: Number(c), jobs: Number(n), seconds: 20 }, (at) => (window[at] = micros()))
writeFileSync(out, JSON.stringify({ ...run, ...window }))
