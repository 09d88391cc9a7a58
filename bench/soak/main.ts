/**
 * `npm run bench:soak`: a million jobs through the Node file store with retention on, to see
 * whether memory and the database file stay flat once the engine is warm. Jobs are dispatched in
 * batches while the engine runs (concurrency 8), never more than `IN_FLIGHT` ahead of what has
 * finished; retention keeps the newest 1,000 succeeded jobs. Every `SAMPLE_EVERY` finished jobs
 * it samples RSS, the V8 heap (after a GC) and the size of the database
 * file and its WAL. Writes bench/results/soak.md. `BENCH_SMOKE=1` runs 100,000 jobs and writes
 * nothing. `SOAK_JOBS=n` sets the number of jobs (and then writes nothing either).
 *
 * @module
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { join } from 'node:path'
import { createQueue, job } from '../../src/index.js'
import type { Retention } from '../../src/core/retention.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { LoadSampler, machineHeader } from '../lib/machine.js'
import { now } from '../lib/stats.js'

const SMOKE = process.env['BENCH_SMOKE'] === '1'
const CUSTOM = process.env['SOAK_JOBS'] !== undefined
const JOBS = CUSTOM ? Number(process.env['SOAK_JOBS']) : SMOKE ? 100_000 : 1_000_000
const SAMPLE_EVERY = SMOKE ? 10_000 : 50_000
/** Samples before this many finished jobs are warm-up: the comparison starts at this one. */
const WARM_UP = SMOKE ? 20_000 : 100_000
const DISPATCH_BATCH = 500
const IN_FLIGHT = 5_000
const CONCURRENCY = 8
const RETENTION: Retention = { succeeded: { count: 1000 } }

interface Sample {
  done: number
  seconds: number
  jobsPerSecond: number
  rssMB: number
  heapMB: number
  dbMB: number
  walMB: number
  stored: number
}

// A GC before each sample, so the heap measured is what is alive: exposed here, not by a flag.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as (() => void) | undefined
const mb = (bytes: number): number => bytes / 2 ** 20
const size = (path: string): number => (existsSync(path) ? statSync(path).size : 0)

const dir = mkdtempSync(join(tmpdir(), 'ferry-soak-'))
const path = join(dir, 'jobs.db')
const load = new LoadSampler()
const samples: Sample[] = []
const t0 = now()
try {
  const store = sqliteStore({ path })
  const queue = createQueue<{ work: { n: number } }>({ store, concurrency: CONCURRENCY, retention: RETENTION })
  queue.register('work', async () => undefined)
  let done = 0
  let lastAt = t0
  let lastDone = 0
  let wake: (() => void) | undefined
  queue.events.subscribe((e) => {
    if (e.kind !== 'job:succeeded') return
    done++
    if (done % SAMPLE_EVERY === 0) {
      const at = now()
      gc?.()
      const mem = process.memoryUsage()
      samples.push({
        done,
        seconds: (at - t0) / 1000,
        jobsPerSecond: ((done - lastDone) * 1000) / (at - lastAt),
        rssMB: mb(mem.rss),
        heapMB: mb(mem.heapUsed),
        dbMB: mb(size(path)),
        walMB: mb(size(`${path}-wal`)),
        stored: 0,
      })
      lastAt = at
      lastDone = done
      load.sample()
    }
    const w = wake
    if (w && done >= dispatchedSoFar - IN_FLIGHT / 2) {
      wake = undefined
      w()
    }
  })
  let dispatchedSoFar = 0
  await queue.start()
  while (dispatchedSoFar < JOBS) {
    if (dispatchedSoFar - done >= IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve))
    const n = Math.min(DISPATCH_BATCH, JOBS - dispatchedSoFar)
    const from = dispatchedSoFar
    await queue.dispatchMany(Array.from({ length: n }, (_, i) => job('work', { n: from + i })))
    dispatchedSoFar += n
  }
  while (done < JOBS) await new Promise<void>((resolve) => (wake = resolve))
  const counts = await queue.counts()
  const last = samples[samples.length - 1]
  if (last) last.stored = (Object.values(counts) as number[]).reduce((a, b) => a + b, 0)
  await queue.close()
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const seconds = (now() - t0) / 1000
const f1 = (x: number): string => x.toFixed(1)
const int = (x: number): string => Math.round(x).toLocaleString('en-US')
const table = [
  '| jobs finished | elapsed s | jobs/s since the sample before | RSS MB | heap used MB | database MB | WAL MB |',
  '|--:|--:|--:|--:|--:|--:|--:|',
  ...samples.map((s) => `| ${int(s.done)} | ${f1(s.seconds)} | ${int(s.jobsPerSecond)} | ${f1(s.rssMB)} | ${f1(s.heapMB)} | ${f1(s.dbMB)} | ${f1(s.walMB)} |`),
].join('\n')

/** After warm-up against the last samples: how much each measure moved, in numbers. */
function verdict(): string[] {
  const warm = samples.find((s) => s.done >= WARM_UP)
  const tail = samples.filter((s) => warm !== undefined && s.done > warm.done).slice(-3)
  if (!warm || tail.length === 0) return ['Too few samples to compare.']
  const line = (name: string, pick: (s: Sample) => number, tolerance: number): string => {
    const after = samples.filter((s) => s.done >= warm.done)
    const max = Math.max(...after.map(pick))
    const lastValues = tail.map(pick)
    const lastMax = Math.max(...lastValues)
    const change = lastMax - pick(warm)
    const flat = change <= tolerance * pick(warm)
    return (
      `- ${name}: ${f1(pick(warm))} MB after warm-up (${int(warm.done)} jobs); the last ${tail.length} samples ` +
      `${lastValues.map(f1).join(', ')} MB (at most ${change >= 0 ? '+' : ''}${f1(change)} MB, ` +
      `${change >= 0 ? '+' : ''}${((change / pick(warm)) * 100).toFixed(1)}%); highest after warm-up ${f1(max)} MB. ` +
      (!flat
        ? `Grew: more than ${tolerance * 100}% above the warm-up sample.`
        : change < -tolerance * pick(warm)
          ? `No growth: it fell after warm-up and stayed down.`
          : `Flat: within ${tolerance * 100}% of the warm-up sample.`)
    )
  }
  return [
    line('RSS', (s) => s.rssMB, 0.1),
    line('V8 heap used', (s) => s.heapMB, 0.1),
    line('Database + WAL on disk', (s) => s.dbMB + s.walMB, 0.1),
  ]
}

const last = samples[samples.length - 1]
const command = `${SMOKE ? 'BENCH_SMOKE=1 ' : ''}${CUSTOM ? `SOAK_JOBS=${JOBS} ` : ''}npm run bench:soak`
const report = [
  machineHeader('ferry soak: a million jobs through the Node file store with retention', command, [
    `Store: sqliteStore({ path }) in a temp dir (SQLite WASM, synchronous normal, WAL); concurrency ${CONCURRENCY}; retention ${JSON.stringify(RETENTION)}`,
    `Jobs: ${int(JOBS)}, an empty handler each, dispatched with dispatchMany of ${DISPATCH_BATCH} while the engine runs, at most ${int(IN_FLIGHT)} ahead of those finished`,
    `Heap sampled ${gc ? 'after a forced GC' : 'without a forced GC'}; took ${f1(seconds)} s in all (${int(JOBS / seconds)} jobs/s)`,
    load.line(),
  ]),
  '## Samples, every ' + int(SAMPLE_EVERY) + ' finished jobs',
  table,
  `Jobs in the store at the end: ${last ? int(last.stored) : '?'} (retention keeps the newest 1,000 succeeded).`,
  `## Flat after warm-up? (the sample at ${int(WARM_UP)} jobs against the last three)`,
  verdict().join('\n'),
].join('\n\n')
console.log(report)
if (!SMOKE && !CUSTOM) writeFileSync(new URL('../results/soak.md', import.meta.url), `${report}\n`)
