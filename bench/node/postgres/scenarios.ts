/**
 * The Postgres scenarios: pre-loaded jobs processed by one or two Node processes working the
 * same queue, and the wait from a dispatch returning to its handler starting on an idle worker.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Handler } from '../../lib/adapter.js'
import { capNote, join, type Measured } from '../../lib/scenarios.js'
import { deferred, now, quantile, seededRandom, sleep } from '../../lib/stats.js'
import type { PgFactory } from './adapter.js'

export interface PgSizes {
  /** Jobs dispatched before the clock starts, and the time limit of one run. */
  process: { jobs: number; seconds: number }
  /** Jobs one at a time, with a pause drawn from [min, max) ms before each. */
  latency: { samples: number; gapMs: { min: number; max: number } }
}

/**
 * What the second process tells the first: it is ready, how many jobs it ran so far, how many in
 * all once stopped, or when the dispatch it was asked for resolved (on the shared clock).
 */
export type FromSecond = { ready: true } | { count: number } | { stopped: number } | { returned: number }
export type ToSecond = 'go' | 'stop' | { dispatch: number }

/** A clock both processes read alike: milliseconds since the epoch, at high resolution. */
const shared = () => performance.timeOrigin + now()

const SECOND = fileURLToPath(new URL('./second.ts', import.meta.url))

interface Second {
  /** Jobs it ran so far, as last reported. */
  count(): number
  go(): void
  /** Has it dispatch job i; resolves with the moment (shared clock) its dispatch resolved. */
  dispatch(i: number): Promise<number>
  /** Stops its worker (settling what runs) and resolves with the jobs it ran in all. */
  stop(): Promise<number>
  kill(): void
}

/**
 * A second Node process working the same queue: the same subject, made on the same database at
 * the same concurrency, started on `go`. `onCount` hears every report of its count.
 */
async function startSecond(name: string, url: string, concurrency: number, onCount: () => void): Promise<Second> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SECOND, name, url, String(concurrency)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let count = 0
  const ready = deferred()
  let stopped: ((n: number) => void) | undefined
  let returned: ((at: number) => void) | undefined
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.on('message', (m: FromSecond) => {
    if ('ready' in m) ready.resolve()
    else if ('count' in m) {
      count = m.count
      onCount()
    } else if ('returned' in m) returned?.(m.returned)
    else {
      count = m.stopped
      stopped?.(m.stopped)
    }
  })
  await Promise.race([
    ready.promise,
    exited.then((code) => {
      throw new Error(`the second process exited (${code ?? '?'}) before it was ready`)
    }),
  ])
  return {
    count: () => count,
    go: () => child.send('go' satisfies ToSecond),
    dispatch: (i) =>
      new Promise<number>((resolve) => {
        returned = resolve
        child.send({ dispatch: i } satisfies ToSecond)
      }),
    stop: () =>
      new Promise<number>((resolve) => {
        stopped = resolve
        child.send('stop' satisfies ToSecond)
      }),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}

/**
 * S2 on Postgres: jobs dispatched first (dispatchMany of 1,000, not timed), then timed from the
 * start of the workers until the last handler ran and every worker stopped (settling what it
 * ran). With `processes` 2, a second Node process, made and connected before the clock, works
 * the same queue at the same concurrency; its count comes over IPC.
 */
export async function processJobs(name: string, make: PgFactory, url: string, sizes: PgSizes, concurrency: number, processes: 1 | 2): Promise<Measured> {
  const a = await make({ url, concurrency })
  let second: Second | undefined
  try {
    const until = now() + sizes.process.seconds * 1000
    let jobs = 0
    while (jobs < sizes.process.jobs && now() < until) {
      const n = Math.min(1000, sizes.process.jobs - jobs)
      await a.dispatchMany(n, jobs)
      jobs += n
    }
    let own = 0
    const done = deferred()
    const deadline = { at: Infinity }
    const check = () => {
      if (own + (second?.count() ?? 0) >= jobs || now() > deadline.at) done.resolve()
    }
    if (processes === 2) second = await startSecond(name, url, concurrency, check)
    const handler: Handler = () => {
      own++
      check()
    }
    const t0 = now()
    deadline.at = t0 + sizes.process.seconds * 1000
    second?.go()
    await a.start(handler)
    await Promise.race([done.promise, sleep(sizes.process.seconds * 1000)])
    const [, theirs] = await Promise.all([a.stop(), second?.stop()])
    const ms = now() - t0
    const seen = own + (theirs ?? 0)
    const loaded = jobs < sizes.process.jobs ? `loading stopped at the ${sizes.process.seconds} s limit: ${jobs.toLocaleString('en-US')} jobs` : undefined
    const split = second ? `this process ran ${own.toLocaleString('en-US')}, the second ${(theirs ?? 0).toLocaleString('en-US')}` : undefined
    const extra = seen > jobs ? `**${(seen - jobs).toLocaleString('en-US')} handler calls more than jobs**` : undefined
    return { jobs: seen, ms, note: join(split, extra, loaded, a.processNote?.(), capNote(seen, jobs, sizes.process.seconds)) }
  } finally {
    second?.kill()
    await a.close()
  }
}

/** The latency row: p50 and p99 as every row has them, and p95. */
export type LatencyMeasured = Measured & { p95?: number }

/**
 * S3 on Postgres: the worker started and idle; one job at a time, with a random pause before
 * each (the same seeded sequence for every subject); measured from the moment dispatch's promise
 * resolved (the job is committed) to the handler starting. A handler that starts before the
 * dispatch resolved counts as 0. `across`: the jobs are dispatched by a second Node process
 * (made on the same database, its worker never started), so the wake-up crosses processes.
 */
export async function latencyAfterDispatch(name: string, make: PgFactory, url: string, sizes: PgSizes, across: boolean): Promise<LatencyMeasured> {
  const a = await make({ url, concurrency: 1 })
  let second: Second | undefined
  try {
    const { samples, gapMs } = sizes.latency
    const random = seededRandom(1)
    let started = deferred<number>()
    await a.start(() => started.resolve(shared()))
    if (across) second = await startSecond(name, url, 1, () => undefined)
    const waits: number[] = []
    const calls: number[] = []
    let early = 0
    const t0 = now()
    for (let i = 0; i < samples; i++) {
      await sleep(gapMs.min + random() * (gapMs.max - gapMs.min))
      started = deferred<number>()
      const s = shared()
      const returned = second ? await second.dispatch(i) : await a.dispatch(i).then(shared)
      const began = await started.promise
      calls.push(returned - s)
      if (began < returned) early++
      waits.push(Math.max(0, began - returned))
    }
    const ms = now() - t0
    await a.stop()
    await second?.stop()
    const q = (x: number[], p: number) => quantile(x, p)
    const f = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(2))
    const note = join(
      `one job at a time, ${gapMs.min}–${gapMs.max} ms apart at random${second ? ', dispatched by a second process' : ''}; the dispatch call itself${second ? ' (with the message to that process)' : ''}: p50 ${f(q(calls, 0.5))} ms, p95 ${f(q(calls, 0.95))} ms`,
      early > 0 ? `${early} handlers started before their dispatch resolved (counted as 0)` : undefined,
    )
    const p50 = q(waits, 0.5)
    const p95 = q(waits, 0.95)
    const p99 = q(waits, 0.99)
    return { jobs: waits.length, ms, ...(p50 === undefined ? {} : { p50 }), ...(p95 === undefined ? {} : { p95 }), ...(p99 === undefined ? {} : { p99 }), note }
  } finally {
    second?.kill()
    await a.close()
  }
}
