/**
 * Four Node processes share one PostgreSQL database, each an engine of concurrency > 1; one is
 * killed with SIGKILL while it runs jobs and the others take its jobs over. So that it runs some
 * for certain, it is told, once it has finished KILL_AFTER_RUNS jobs, to hold the handlers it
 * starts from then on, and is killed once it holds HOLDS of them (its other slots are wherever
 * they are).
 *
 * Every handler run is logged by its process (fixtures/multi-process-child.ts): its start, its
 * end, and the run id it returns as the job's result, so the store's record names the one run
 * whose success was committed. From the logs and the store the test proves:
 *
 * - every job succeeded, once: the store holds it `succeeded`, its result is a run of it whose
 *   handler returned, and no run of it started after that one;
 * - at-least-once, only where a process died: a job may have a second run only if its first
 *   ran on the killed process and was not committed there (the killed process never heard its
 *   success), and the second began after the kill. Such jobs are those the killed process held
 *   at its death: handlers running, or returned but not yet committed. Any other job ran once.
 * - no job was ever active in two processes at once: a job's runs do not overlap (a run of the
 *   killed process that never returned lasts until the kill);
 * - the takeover is the liveness's, not the lease's: the jobs the killed process was running
 *   start elsewhere well within TAKEOVER_BOUND_MS of the kill, with a lease of LEASE_MS.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, job, type Counts, type JobRecord } from '../../../src/index.js'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'
import { CONCURRENCY, JOB_TYPE, LEASE_MS } from './fixtures/multi-process-settings.js'

const JOBS = 20_000
const ENGINES = 4
/** Jobs dispatched per `dispatchMany` (one transaction each). */
const DISPATCH_CHUNK = 1000
/** Runs the killed engine has finished, at least, when it is killed. */
const KILL_AFTER_RUNS = 1000
/** Jobs the killed engine holds, running, when it is killed (its other slots are at any point). */
const HOLDS = 3
/** The jobs the killed engine was running start elsewhere within this of the kill. */
const TAKEOVER_BOUND_MS = 15_000
/** How long the test waits, after the kill, for every job to succeed (a busy machine is slow). */
const FINISH_BOUND_MS = 180_000

const dir = mkdtempSync(join(tmpdir(), 'ferry-multi-process-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const childScript = fileURLToPath(new URL('./fixtures/multi-process-child.ts', import.meta.url))

interface Engine {
  name: string
  log: string
  child: ChildProcess
  lines: string[]
  /** Resolves with the first line (printed so far or later) that `match` accepts. */
  until(match: (line: string) => boolean): Promise<string>
  exited: Promise<number | null>
  stderr(): string
}

function startEngine(name: string, schema: string, url: string): Engine {
  const log = join(dir, `${name}.log`)
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, schema, log, name], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, FERRY_TEST_POSTGRES_URL: url },
  })
  const lines: string[] = []
  const waiters: { match: (l: string) => boolean; resolve: (l: string) => void }[] = []
  let buf = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      lines.push(l)
      for (const w of [...waiters]) if (w.match(l)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(l)
      }
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  child.stdin?.on('error', () => undefined) // a killed child closes its end
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    name,
    log,
    child,
    lines,
    exited,
    stderr: () => err,
    until: (match) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find(match)
        if (hit !== undefined) return resolve(hit)
        waiters.push({ match, resolve })
        void exited.then((code) => reject(new Error(`engine ${name} exited (${code}): ${err}`)))
      }),
  }
}

/** One handler run, from its process's log. */
interface Run {
  id: string
  engine: string
  jobId: string
  attempt: number
  start: number
  /** When the handler returned; undefined if it never did (its process was killed). */
  end?: number
  /** Its process heard `job:succeeded` with this run as the result: its success is committed. */
  heard: boolean
}

function readRuns(engine: Engine): Run[] {
  const runs = new Map<string, Run>()
  for (const line of readFileSync(engine.log, 'utf8').split('\n')) {
    const [kind, id = '', ...rest] = line.split(' ')
    if (kind === 'S') {
      const [jobId = '', attempt, start] = rest
      runs.set(id, { id, engine: engine.name, jobId, attempt: Number(attempt), start: Number(start), heard: false })
      continue
    }
    const run = runs.get(id)
    if (kind === 'E' && run) run.end = Number(rest[0])
    else if (kind === 'D' && run) run.heard = true
    else if (line !== '') throw new Error(`${engine.log}: unexpected line "${line}"`)
  }
  return [...runs.values()]
}

/** A job's record as the audit reads it. */
type Outcome = Pick<JobRecord, 'id' | 'state' | 'attempt' | 'result'>

/**
 * What the runs and the store's records break of the rules (see the top of this file), and, for
 * each job run twice, how long after the kill its second run began.
 */
function audit(runs: Run[], records: Outcome[], killed: string, killedAt: number): { problems: string[]; again: Map<string, number> } {
  const byId = new Map(runs.map((r) => [r.id, r]))
  const byJob = new Map<string, Run[]>()
  for (const r of runs) byJob.set(r.jobId, [...(byJob.get(r.jobId) ?? []), r])
  const problems: string[] = []
  const again = new Map<string, number>()
  for (const record of records) {
    const list = (byJob.get(record.id) ?? []).sort((a, b) => a.start - b.start)
    byJob.delete(record.id)
    const committed = typeof record.result === 'string' ? byId.get(record.result) : undefined
    if (record.state !== 'succeeded') problems.push(`${record.id} is ${record.state}`)
    if (committed?.jobId !== record.id) {
      problems.push(`${record.id}: its result ${String(record.result)} is no run of it`)
      continue
    }
    if (committed.end === undefined) problems.push(`${record.id}: the committed run ${committed.id} never returned`)
    if (list.at(-1) !== committed) problems.push(`${record.id}: ran again after its committed run ${committed.id}`)
    if (list.length > 2) problems.push(`${record.id}: ran ${list.length} times`)
    if (record.attempt > 2) problems.push(`${record.id}: attempt ${record.attempt}`)
    for (const r of list) {
      if (r === committed) continue
      if (r.engine !== killed) problems.push(`${record.id}: run ${r.id} of a live engine was not committed`)
      if (r.heard) problems.push(`${record.id}: ran again after run ${r.id}'s success was committed`)
    }
    for (let k = 1; k < list.length; k++) {
      const [a, b] = [list[k - 1] as Run, list[k] as Run]
      const aEnd = a.end ?? (a.engine === killed ? killedAt : Number.POSITIVE_INFINITY)
      if (b.start < aEnd) problems.push(`${record.id}: run ${b.id} started at ${b.start}, while ${a.id} ran (until ${aEnd})`)
      if (b.start < killedAt) problems.push(`${record.id}: ran twice before the kill (${a.id}, ${b.id})`)
      again.set(record.id, b.start - killedAt)
    }
  }
  for (const [jobId, list] of byJob) problems.push(`runs ${list.map((r) => r.id).join(', ')} of unknown job ${jobId}`)
  for (const r of runs) if (r.engine !== killed && !r.heard) problems.push(`${r.id} of a live engine: its success was never heard`)
  return { problems, again }
}

const ranCount = (line: string): number => (line.startsWith('ran ') ? Number(line.slice(4)) : 0)

describe('four processes on one PostgreSQL database, one killed mid-run', () => {
  const url = postgresUrl()
  const pool = testPool()

  it('run every job to success once; only the killed process\'s jobs run again, at once, never two at a time', async () => {
    const schema = freshSchema()
    const began = performance.now()
    // The engines start at once: each migrates the new schema (they must agree to do it once).
    const engines = Array.from({ length: ENGINES }, (_, i) => startEngine(`e${i}`, schema, url))
    const store = postgresStore({ pool, schema })
    const queue = createQueue({ store })
    try {
      await Promise.all(engines.map((e) => e.until((l) => l === 'started')))
      const startedMs = performance.now() - began

      const dispatchStart = performance.now()
      for (let i = 0; i < JOBS; i += DISPATCH_CHUNK) {
        const specs = Array.from({ length: Math.min(DISPATCH_CHUNK, JOBS - i) }, (_, k) => job(JOB_TYPE, { i: i + k }))
        await queue.dispatchMany(specs)
      }
      const dispatchMs = performance.now() - dispatchStart
      // Every engine starts on the full queue.
      const runStart = performance.now()
      for (const e of engines) e.child.stdin?.write('go\n')

      // The first engine past KILL_AFTER_RUNS runs is killed once it holds jobs it will not finish.
      const victim = await Promise.race(
        engines.map(async (e) => {
          await e.until((l) => ranCount(l) >= KILL_AFTER_RUNS)
          return e
        }),
      )
      victim.child.stdin?.write('hold\n')
      await victim.until(() => victim.lines.filter((l) => l.startsWith('holding ')).length >= HOLDS)
      const killedAt = Date.now()
      const killMs = performance.now() - runStart
      victim.child.kill('SIGKILL')
      await victim.exited
      const survivors = engines.filter((e) => e !== victim)

      let counts: Counts = await queue.counts()
      while (counts.succeeded < JOBS && Date.now() - killedAt < FINISH_BOUND_MS) {
        for (const e of survivors) expect(e.child.exitCode, `${e.name} exited: ${e.stderr()}`).toBeNull()
        await new Promise((resolve) => setTimeout(resolve, 250))
        counts = await queue.counts()
      }
      const finishedMs = performance.now() - runStart
      const sinceKillMs = Date.now() - killedAt
      expect(counts).toEqual({ blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: JOBS, failed: 0, cancelled: 0 })

      for (const e of survivors) e.child.stdin?.write('stop\n')
      await Promise.all(survivors.map((e) => e.until((l) => l === 'stopped')))
      for (const e of survivors) expect([e.name, await e.exited, e.stderr()]).toEqual([e.name, 0, ''])

      const runs = engines.flatMap(readRuns)
      const records = await queue.listJobs({ limit: JOBS + 1 })
      expect(records.length).toBe(JOBS)
      expect(new Set(records.map((r) => (r.payload as { i: number }).i)).size).toBe(JOBS)
      const { problems, again } = audit(runs, records, victim.name, killedAt)

      const victimRuns = runs.filter((r) => r.engine === victim.name)
      const held = victimRuns.filter((r) => r.end === undefined)
      const heldTakeover = held.map((r) => again.get(r.jobId) ?? Number.POSITIVE_INFINITY)
      const slowest = Math.max(...heldTakeover)
      console.log(
        `multi-process: ${ENGINES} engines × concurrency ${CONCURRENCY}, ${JOBS} jobs; engines started in ${startedMs.toFixed(0)} ms, ` +
          `dispatch ${dispatchMs.toFixed(0)} ms; all succeeded ${finishedMs.toFixed(0)} ms after the engines began ` +
          `(${((JOBS / finishedMs) * 1000).toFixed(0)} jobs/s), ${sinceKillMs} ms after the kill; ` +
          `${victim.name} killed ${killMs.toFixed(0)} ms in, after ${victimRuns.length - held.length} runs, running ${held.length}; ` +
          `${again.size} jobs ran twice (each begun on ${victim.name}), those it was running again within ${slowest} ms ` +
          `of the kill (lease ${LEASE_MS} ms); ${records.filter((r) => r.attempt === 2).length} jobs at attempt 2; ` +
          `test ${(performance.now() - began).toFixed(0)} ms`,
      )
      expect(problems.slice(0, 20)).toEqual([])
      // No engine reported an error, the killed one included (starting together, they migrated once).
      expect(engines.flatMap((e) => e.lines.filter((l) => l.startsWith('error ')).map((l) => `${e.name}: ${l}`))).toEqual([])

      // The kill landed mid-run: the victim had finished some jobs and was running others.
      expect(victimRuns.length - held.length).toBeGreaterThanOrEqual(KILL_AFTER_RUNS)
      expect(held.length).toBeGreaterThanOrEqual(HOLDS)
      expect(held.length).toBeLessThanOrEqual(CONCURRENCY)
      // Those it was running were taken over at once, not after their lease.
      expect(TAKEOVER_BOUND_MS).toBeLessThan(LEASE_MS / 2)
      expect(slowest).toBeLessThan(TAKEOVER_BOUND_MS)
    } finally {
      for (const e of engines) if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL')
      await Promise.all(engines.map((e) => e.exited))
      await queue.close()
    }
  }, 300_000)
})

describe('the audit of the multi-process test', () => {
  const run = (id: string, jobId: string, start: number, end?: number, heard = end !== undefined): Run => ({
    id, engine: id.split('.')[0] as string, jobId, attempt: 1, start, ...(end === undefined ? {} : { end }), heard,
  })
  const ok = (id: string, result: string): Outcome => ({ id, state: 'succeeded', attempt: 1, result })

  it('passes a job run once, and jobs the killed engine ran, uncommitted, that ran again after the kill', () => {
    const runs = [
      run('a.1', 'j1', 10, 12),
      run('k.1', 'j2', 90), run('b.1', 'j2', 105, 107), // running at the kill
      run('k.2', 'j3', 95, 96, false), run('a.2', 'j3', 120, 121), // returned, its success not committed
      run('k.3', 'j4', 80, 81, true), // committed before the kill
    ]
    const { problems, again } = audit(runs, [ok('j1', 'a.1'), ok('j2', 'b.1'), ok('j3', 'a.2'), ok('j4', 'k.3')], 'k', 100)
    expect(problems).toEqual([])
    expect([...again]).toEqual([['j2', 5], ['j3', 20]])
  })

  it('finds a job run twice by live engines, runs that overlap, a run after a committed success, a lost success', () => {
    const runs = [
      run('a.1', 'j1', 10, 12), run('b.1', 'j1', 20, 22), // twice on live engines
      run('k.1', 'j2', 90), run('b.2', 'j2', 95, 97), // before the kill, while the killed engine ran it
      run('k.2', 'j3', 50, 51, true), run('a.2', 'j3', 110, 111), // after its committed success
      run('a.3', 'j4', 10, 12, false), // a live engine never heard its success
    ]
    const records = [ok('j1', 'b.1'), ok('j2', 'b.2'), ok('j3', 'a.2'), ok('j4', 'a.3')]
    expect(audit(runs, records, 'k', 100).problems).toEqual([
      'j1: run a.1 of a live engine was not committed',
      "j1: ran again after run a.1's success was committed",
      'j1: ran twice before the kill (a.1, b.1)',
      'j2: run b.2 started at 95, while k.1 ran (until 100)',
      'j2: ran twice before the kill (k.1, b.2)',
      "j3: ran again after run k.2's success was committed",
      'a.3 of a live engine: its success was never heard',
    ])
    expect(audit([run('a.1', 'j1', 10, 12)], [{ id: 'j1', state: 'active', attempt: 3, result: 'a.1' }], 'k', 100).problems).toEqual([
      'j1 is active',
      'j1: attempt 3',
    ])
    expect(audit([run('k.1', 'j1', 10)], [ok('j1', 'k.1')], 'k', 100).problems).toEqual(['j1: the committed run k.1 never returned'])
  })
})
