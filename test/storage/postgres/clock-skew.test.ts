/**
 * Engines in processes whose system clocks disagree share a Postgres store: each takes its time
 * from the store (the server's), so none takes over another's running jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { ManualClock } from '../../../src/testing/manual-clock.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 6 })
const dir = mkdtempSync(join(tmpdir(), 'ferry-clock-skew-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const childScript = fileURLToPath(new URL('./clock-child.ts', import.meta.url))

const JOBS = 40
const LEASE_MS = 3000
const WORK_MS = 2000
/** How long all the jobs may take: 40 jobs of 2 s on 8 slots, on a busy machine. */
const FINISH_BOUND_MS = 120_000

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

interface Engine {
  child: ChildProcess
  started: Promise<void>
  stop(): Promise<void>
}

function startEngine(name: string, schema: string, log: string, skewMs: number, env: Record<string, string> = {}): Engine {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, schema, log, name], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FERRY_TEST_POSTGRES_URL: postgresUrl(), SKEW_MS: String(skewMs), LEASE_MS: String(LEASE_MS), WORK_MS: String(WORK_MS), ...env },
  })
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  child.stdin?.on('error', () => undefined)
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const printed = (line: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (out.split('\n').includes(line)) resolve()
      }
      child.stdout?.on('data', check)
      check()
      void exited.then(() => reject(new Error(`engine ${name} exited before "${line}": ${err}`)))
    })
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
  const engine: Engine = {
    child,
    started: printed('started'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.stdin?.write('stop\n')
      await printed('stopped').catch(() => undefined)
      child.stdin?.end()
      await exited
    },
  }
  closers.push(async () => {
    await engine.stop()
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return engine
}

function readLog(log: string): string[][] {
  return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ')) : []
}

describe('engines whose system clocks disagree, on one Postgres server', () => {
  it(
    'never take over each other\'s running jobs: an engine 60 s ahead, leases of 3 s, jobs of 2 s',
    async () => {
      const schema = freshSchema()
      const log = join(dir, `${schema}.log`)
      const store = postgresStore({ pool, schema })
      closers.push(() => store.close())
      const queue = createQueue({ store })
      closers.push(() => queue.close())

      const a = startEngine('A', schema, log, 0)
      await a.started
      await queue.dispatchMany(Array.from({ length: JOBS }, (_, i) => job('slow', { i })))
      // A runs its first jobs, then B joins, its clock a minute ahead.
      await expect.poll(() => readLog(log).filter((l) => l[0] === 'S').length, { timeout: 30_000 }).toBeGreaterThan(0)
      const b = startEngine('B', schema, log, 60_000)
      await b.started
      await expect
        .poll(async () => (await queue.counts()).succeeded ?? 0, { timeout: FINISH_BOUND_MS, interval: 250 })
        .toBe(JOBS)
      await Promise.all([a.stop(), b.stop()])

      const lines = readLog(log)
      const starts = lines.filter((l) => l[0] === 'S')
      const perJob = new Map<string, string[]>()
      for (const [, name, id, attempt] of starts) perJob.set(id as string, [...(perJob.get(id as string) ?? []), `${name}#${attempt}`])
      const twice = [...perJob].filter(([, runs]) => runs.length > 1)
      expect(twice).toEqual([])
      expect(perJob.size).toBe(JOBS)
      expect(lines.filter((l) => l[0] === 'L')).toEqual([])
      expect(lines.filter((l) => l[0] === 'E' && l[4] === 'aborted')).toEqual([])
      expect(lines.filter((l) => l[0] === 'X')).toEqual([])
      // Both did work: B's clock did not keep it out either.
      expect(new Set(starts.map((l) => l[1]))).toEqual(new Set(['A', 'B']))
    },
    FINISH_BOUND_MS + 60_000,
  )

  it(
    'fire each occurrence of a schedule once, when it falls due on the server: engines 2 minutes behind and ahead',
    async () => {
      const schema = freshSchema()
      const log = join(dir, `${schema}.log`)
      const engines = [startEngine('A', schema, log, 0, { SCHEDULE: '1' }), startEngine('B', schema, log, 120_000, { SCHEDULE: '1' }), startEngine('C', schema, log, -120_000, { SCHEDULE: '1' })]
      await Promise.all(engines.map((e) => e.started))
      /** Each tick run: the occurrence it is for (its job id ends with it) and when it started, in real time. */
      const ticks = (): { id: string; occurrence: number; started: number }[] =>
        readLog(log)
          .filter((l) => l[0] === 'S')
          .map((l) => ({ id: l[2] as string, occurrence: Number(l[2]?.split(':').at(-1)), started: Number(l[4]) }))
      await expect.poll(() => ticks().length, { timeout: 60_000, interval: 250 }).toBeGreaterThanOrEqual(8)
      await Promise.all(engines.map((e) => e.stop()))
      const runs = ticks()
      // Each occurrence once, run when it fell due on the server's time (the real time here),
      // whichever engine found it due: not two minutes early or late.
      expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length)
      expect(runs.filter((r) => !(Math.abs(r.started - r.occurrence) <= 5_000))).toEqual([])
    },
    120_000,
  )

  it("gives the server's time to a queue given no clock, and leaves a queue's own clock its own", async () => {
    const store = postgresStore({ pool, schema: freshSchema() })
    closers.push(() => store.close())
    await store.open()
    expect(store.clock).toBeDefined()
    const own = new ManualClock(Date.UTC(2001, 0, 1))
    const mine = createQueue({ store, clock: own })
    closers.push(() => mine.close())
    const { id } = await mine.dispatch(job('t', null))
    expect((await mine.getJob(id))?.createdAt).toBe(own.now())

    const shared = createQueue({ store })
    closers.push(() => shared.close())
    const { id: other } = await shared.dispatch(job('t', null))
    const { rows } = await pool.query<{ t: number }>('SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS t')
    const createdAt = (await shared.getJob(other))?.createdAt ?? 0
    expect(Math.abs(createdAt - Number(rows[0]?.t))).toBeLessThan(5_000)
  })
})
