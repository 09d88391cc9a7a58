/**
 * `npm run bench:codec`: what encryption at rest costs. Jobs per second, dispatched and processed
 * (a ~1 KB payload, a small result), without a codec and with `encryptedCodec`, on the memory
 * store and the Node file store. Each case runs `RUNS` times after a warm-up; the median counts.
 * Writes bench/results/codec.md. `BENCH_SMOKE=1` runs a tenth of the jobs and writes nothing.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createQueue, encryptedCodec, job, memoryStore, type Codec, type Store } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { LoadSampler, machineHeader } from '../lib/machine.js'
import { now, perSecond, quantile, seededRandom } from '../lib/stats.js'

const SMOKE = process.env['BENCH_SMOKE'] === '1'
const RUNS = 5
const CHUNK = 100
const CONCURRENCY = 8

interface Case {
  store: string
  jobs: number
  open(dir: string): Store
}

const CASES: Case[] = [
  { store: 'memory', jobs: SMOKE ? 500 : 5_000, open: () => memoryStore() },
  { store: 'Node file (SQLite WASM)', jobs: SMOKE ? 200 : 2_000, open: (dir) => sqliteStore({ path: join(dir, 'jobs.db') }) },
]

/** About 1 KB of JSON: random words, so no two payloads are alike. */
function payload(random: () => number, n: number): { n: number; text: string } {
  let text = ''
  while (text.length < 1000) text += `${Math.floor(random() * 36 ** 6).toString(36)} `
  return { n, text }
}

/** Jobs per second for dispatching `jobs` jobs in chunks to a running engine until all are done. */
async function once(c: Case, codec: Codec | undefined, dir: string): Promise<number> {
  const random = seededRandom(7)
  const payloads = Array.from({ length: c.jobs }, (_, i) => payload(random, i))
  const queue = createQueue({ store: c.open(dir), concurrency: CONCURRENCY, ...(codec ? { codec } : {}) })
  queue.register('bench:job', (p: unknown) => ({ done: (p as { n: number }).n }))
  try {
    await queue.start()
    const t0 = now()
    for (let i = 0; i < payloads.length; i += CHUNK) {
      await queue.dispatchMany(payloads.slice(i, i + CHUNK).map((p) => job('bench:job', p)))
    }
    await queue.drain({ timeoutMs: 600_000 })
    const ms = now() - t0
    const counts = await queue.counts()
    if (counts.succeeded !== c.jobs) throw new Error(`expected ${c.jobs} jobs to succeed, got ${JSON.stringify(counts)}`)
    return perSecond(c.jobs, ms)
  } finally {
    await queue.close()
  }
}

async function median(c: Case, codec: Codec | undefined): Promise<number> {
  const rates: number[] = []
  for (let run = 0; run <= RUNS; run++) {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-codec-'))
    try {
      const rate = await once(c, codec, dir)
      if (run > 0) rates.push(rate) // run 0 warms up
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }
  return quantile(rates, 0.5) ?? 0
}

const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
const load = new LoadSampler()
const rows: string[] = []
for (const c of CASES) {
  load.sample()
  const plain = await median(c, undefined)
  load.sample()
  const encrypted = await median(c, encryptedCodec(key))
  rows.push(`| ${c.store} | ${c.jobs} | ${Math.round(plain)} | ${Math.round(encrypted)} | ${(encrypted / plain).toFixed(2)} |`)
  console.error(`bench:codec: ${c.store} done`)
}

const command = `${SMOKE ? 'BENCH_SMOKE=1 ' : ''}npm run bench:codec`
const report = [
  machineHeader('ferry benchmarks: encryption at rest', command, [load.line()]),
  '## Jobs per second, dispatched and processed',
  [
    '| Store | Jobs | No codec (jobs/s) | encryptedCodec (jobs/s) | Ratio |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
  '## Method',
  [
    `One process. Each case dispatches its jobs with \`dispatchMany\` in chunks of ${CHUNK} to a started engine`,
    `(concurrency ${CONCURRENCY}) and waits with \`drain()\`; the rate is jobs over the time from the first dispatch`,
    `until the last job is done. A payload is about 1 KB of JSON, the result a small object. ${RUNS} runs per`,
    'case after one warm-up run, each on a fresh store; the table gives the median. The key is a',
    'non-extractable 256-bit AES-GCM key; with it every payload is encrypted on dispatch and decrypted on',
    'claim, and every result encrypted on settlement: three AES-GCM operations per job (the events of the',
    "engine's own writes carry the values it has just encoded, which are not decrypted again).",
  ].join('\n'),
].join('\n\n')
console.log(report)
if (!SMOKE) writeFileSync(new URL('../results/codec.md', import.meta.url), `${report}\n`)
