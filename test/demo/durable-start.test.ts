/**
 * `npm start` keeps its outbox in a SQLite file: a run killed half-way (`kill -9`) or
 * interrupted (Ctrl-C) is finished by the next one, which runs none of the jobs already done
 * and says so.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createQueue, type JobRecord } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'

let dir: string
let db: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-demo-'))
  db = join(dir, 'outbox.db')
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

interface Run {
  child: ChildProcess
  output: () => string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function demo(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/node/main.ts'], {
    env: { ...process.env, FERRY_DEMO_DB: db, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  child.stdout?.on('data', (b: Buffer) => (text += b.toString()))
  child.stderr?.on('data', (b: Buffer) => (text += b.toString()))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, output: () => text, exit }
}

/** Resolves once the demo's plain status line reports at least `n` jobs done. */
async function untilDone(run: Run, n: number): Promise<void> {
  for (;;) {
    const lines = [...run.output().matchAll(/\] (\d+)\/\d+ done/g)]
    const done = Number(lines.at(-1)?.[1] ?? 0)
    if (done >= n) return
    if (run.child.exitCode !== null) throw new Error(`the demo ended before ${n} jobs were done:\n${run.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The finished jobs in the outbox, read with a queue of the test's own. */
async function finishedJobs(): Promise<{ records: Map<string, JobRecord>; left: number }> {
  const q = createQueue({ store: sqliteStore({ path: db }) })
  try {
    const counts = await q.counts()
    const records = new Map<string, JobRecord>()
    for (const state of ['succeeded', 'failed', 'cancelled'] as const) {
      for (const r of await q.listJobs({ state, limit: 10_000 })) records.set(r.id, r)
    }
    return { records, left: counts.waiting + counts.delayed + counts.active + counts.blocked }
  } finally {
    await q.close()
  }
}

async function finishesWhatWasLeft(before: Map<string, JobRecord>): Promise<void> {
  const second = demo()
  const { code } = await second.exit
  expect(code, second.output()).toBe(0)
  expect(second.output()).toContain(`Resuming the outbox in ${db}: ${before.size} jobs finished before the interruption`)
  expect(second.output()).toContain(`${before.size} more had finished before the interruption; none of them ran again.`)
  const after = await finishedJobs()
  expect(after.left).toBe(0)
  // Nothing done before ran again: the same attempt, finished at the same moment.
  for (const [id, r] of before) {
    expect(after.records.get(id), id).toMatchObject({ state: r.state, attempt: r.attempt, finishedAt: r.finishedAt })
  }
  // The whole outbox is there once: 300 photos, 120 thumbnails, a chain of 3, an album of 24 and its callbacks.
  const ids = [...after.records.keys()]
  expect(ids.filter((id) => id.startsWith('upload:IMG_'))).toHaveLength(300)
  expect(ids.filter((id) => id.startsWith('thumb:'))).toHaveLength(120)
  expect(ids.filter((id) => id.startsWith('upload:LIS_'))).toHaveLength(24)
  expect(after.records.get('notify:PANO_0001.jpg')?.state).toBe('succeeded')
  expect([...after.records.values()].filter((r) => r.type === 'album:settled')).toHaveLength(1)
}

describe('npm start on the file store', () => {
  it('finishes after kill -9 without running again what was done', { timeout: 90_000 }, async () => {
    const first = demo()
    await untilDone(first, 60)
    first.child.kill('SIGKILL')
    expect((await first.exit).signal).toBe('SIGKILL')
    const before = await finishedJobs()
    expect(before.records.size).toBeGreaterThanOrEqual(60)
    expect(before.left).toBeGreaterThan(0)
    await finishesWhatWasLeft(before.records)
  })

  it('stops on Ctrl-C, says what is left, and the next start finishes it', { timeout: 90_000 }, async () => {
    const first = demo()
    await untilDone(first, 40)
    first.child.kill('SIGINT')
    const { code } = await first.exit
    expect(code, first.output()).toBe(130)
    const before = await finishedJobs()
    expect(first.output()).toContain(`interrupted: ${before.left} jobs are left in ${db}; run the demo again to finish them`)
    expect(before.left).toBeGreaterThan(0)
    await finishesWhatWasLeft(before.records)
  })

  it('starts a new outbox once the last one is finished', { timeout: 90_000 }, async () => {
    const first = demo()
    expect((await first.exit).code, first.output()).toBe(0)
    const second = demo()
    await untilDone(second, 1)
    second.child.kill('SIGKILL')
    await second.exit
    expect(second.output()).toContain(`The outbox in ${db} was finished; starting a new one.`)
  })
})
