/**
 * `createFakeQueue()`: the producer side of a queue that records what it is asked to do and
 * runs nothing, with assertions for tests of code that dispatches jobs. Works under any test
 * runner (a failed assertion throws an `AssertionError` with `expected` and `actual`), in
 * Node and in browsers.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { sharedMeta, type BatchBuilder, type ChainBuilder } from '../core/builders.js'
import { InvalidArgumentError } from '../core/errors.js'
import { checkMeta, madeOptions, prepareSpecs, specOptions, type SpecOf, type SpecOptions } from '../core/job-spec.js'
import { checkStorable } from '../core/storable.js'
import type { ScheduleOptions } from '../core/queue.js'
import type { DispatchResult, JobMap, JobMeta } from '../core/types.js'

/** A job the fake was asked to dispatch, on its own or in a chain or batch. */
export interface RecordedJob {
  id: string
  type: string
  payload: unknown
  queue: string
  options: SpecOptions
  /**
   * Its metadata (`job(...).meta()`); for a callback of a chain or batch, what the group's jobs
   * share under the callback's own, as the queue stores it.
   */
  meta?: JobMeta
  chainId?: string
  batchId?: string
}

export interface RecordedChain {
  id: string
  jobs: RecordedJob[]
  queue?: string
  onSuccess?: RecordedJob
  onError?: RecordedJob
  onSettled?: RecordedJob
}

export interface RecordedBatch {
  id: string
  name?: string
  jobs: RecordedJob[]
  queue?: string
  allowFailures: boolean
  onProgress?: RecordedJob
  onSuccess?: RecordedJob
  onError?: RecordedJob
  onSettled?: RecordedJob
}

export interface RecordedSchedule {
  name: string
  when: string | { every: number }
  job: RecordedJob
  options: ScheduleOptions
}

/** Thrown by a failed assertion; test runners show `expected` and `actual`. */
export class AssertionError extends Error {
  override name = 'AssertionError'
  /** Lets runners that follow chai's convention show a diff. */
  readonly showDiff = true
  constructor(
    message: string,
    readonly expected: unknown,
    readonly actual: unknown,
  ) {
    super(message)
  }
}

type Types<J extends JobMap> = keyof J & string

export interface FakeQueue<J extends JobMap = JobMap> {
  dispatch(spec: SpecOf<J>, opts?: { tx?: unknown }): Promise<DispatchResult>
  dispatchMany(specs: SpecOf<J>[], opts?: { tx?: unknown }): Promise<DispatchResult[]>
  chain(...specs: SpecOf<J>[]): ChainBuilder
  batch(...specs: SpecOf<J>[]): BatchBuilder
  schedule(name: string, when: string | { every: number }, spec: SpecOf<J>, opts?: ScheduleOptions): Promise<void>
  unschedule(name: string): Promise<void>

  /** What was recorded: every job (chain and batch members included), chains, batches, schedules. */
  readonly recorded: {
    readonly jobs: readonly RecordedJob[]
    readonly chains: readonly RecordedChain[]
    readonly batches: readonly RecordedBatch[]
    readonly schedules: readonly RecordedSchedule[]
  }
  /** Forgets everything recorded. */
  reset(): void

  /** A job of this type was dispatched (and matches `where`, if given). */
  assertDispatched<T extends Types<J>>(type: T, where?: (payload: J[T], job: RecordedJob) => boolean): void
  assertDispatchedOn<T extends Types<J>>(queue: string, type: T, where?: (payload: J[T], job: RecordedJob) => boolean): void
  assertDispatchedTimes<T extends Types<J>>(type: T, times: number): void
  assertNotDispatched<T extends Types<J>>(type: T, where?: (payload: J[T], job: RecordedJob) => boolean): void
  assertNothingDispatched(): void
  /** Exactly `n` jobs were dispatched in all, chain and batch members included. */
  assertCount(n: number): void
  /** A chain with exactly these step types, in order, was dispatched. */
  assertChained(types: Types<J>[]): void
  /** A batch matching the predicate was dispatched. */
  assertBatched(predicate: (batch: RecordedBatch) => boolean): void
  assertBatchCount(n: number): void
  assertNothingBatched(): void
}

/**
 * A queue that records and runs nothing.
 * @example
 * const queue = createFakeQueue<Jobs>()
 * await signUp(queue, 'ana@example.com')
 * queue.assertDispatched('email:send', (p) => p.to === 'ana@example.com')
 */
export function createFakeQueue<J extends JobMap = JobMap>(): FakeQueue<J> {
  let jobs: RecordedJob[] = []
  let chains: RecordedChain[] = []
  let batches: RecordedBatch[] = []
  let schedules: RecordedSchedule[] = []

  const record = (spec: unknown, group?: { queue?: string; chainId?: string; batchId?: string }): RecordedJob => {
    const o = specOptions(spec)
    const r: RecordedJob = { id: o.id ?? nanoid(), type: o.type, payload: o.payload, queue: o.queue ?? group?.queue ?? 'default', options: o }
    if (o.meta !== undefined) r.meta = { ...o.meta }
    if (group?.chainId !== undefined) r.chainId = group.chainId
    if (group?.batchId !== undefined) r.batchId = group.batchId
    return r
  }
  /** A callback recorded at build time whose payload is made at dispatch (see `withPrepare`), made. */
  const made = async (r: RecordedJob | undefined): Promise<RecordedJob | undefined> => {
    if (r?.options.prepare === undefined) return r
    const options = await madeOptions(r.options)
    return { ...r, payload: options.payload, options }
  }
  const callbacks = async <P extends object>(plan: P, keys: readonly string[], members: readonly RecordedJob[], opts?: { tx?: unknown }): Promise<P> => {
    const out = { ...plan } as Record<string, unknown>
    const shared = sharedMeta(members.map((m) => m.meta))
    // Refused as the real queue refuses it: such a payload cannot join the caller's transaction.
    if (opts?.tx !== undefined && keys.some((k) => (out[k] as RecordedJob | undefined)?.options.prepare !== undefined)) {
      throw new InvalidArgumentError("a job whose payload is made at dispatch cannot join the caller's transaction")
    }
    for (const k of keys) {
      const cb = out[k] as RecordedJob | undefined
      if (cb === undefined) continue
      const r = (await made(cb)) as RecordedJob
      const meta = shared === undefined ? r.meta : inherited(shared, r.meta)
      out[k] = meta === undefined ? r : { ...r, meta }
    }
    return out as P
  }
  /** As the queue does: the shared metadata under the callback's own, or its own alone should the two pass the limits. */
  const inherited = (shared: JobMeta, own: JobMeta | undefined): JobMeta | undefined => {
    try {
      return checkMeta({ ...shared, ...own })
    } catch {
      return own
    }
  }
  // The fake refuses what every store refuses, so a test cannot pass on a payload that the
  // real queue would reject.
  const storable = (...list: (RecordedJob | undefined)[]): void => {
    for (const r of list) if (r) checkStorable(r.payload, 'payload', `job ${r.id} (${r.type})`)
  }
  const summary = (list: readonly RecordedJob[]): string[] => list.map((j) => `${j.type} on ${j.queue} ${safeJson(j.payload)}`)
  const fail = (message: string, expected: unknown, actual: unknown): never => {
    throw new AssertionError(`${message}\n  expected: ${safeJson(expected)}\n  recorded: ${describeRecorded(actual)}`, expected, actual)
  }
  const matching = (type: string, where?: (payload: never, job: RecordedJob) => boolean, queue?: string): RecordedJob[] =>
    jobs.filter((j) => j.type === type && (queue === undefined || j.queue === queue) && (!where || where(j.payload as never, j)))

  const chainBuilder = (specs: readonly unknown[], plan: Omit<RecordedChain, 'id' | 'jobs'> & { id?: string }): ChainBuilder => {
    const next = (p: Partial<RecordedChain>): ChainBuilder => chainBuilder(specs, { ...plan, ...p })
    return {
      onQueue: (queue) => next({ queue }),
      withId: (id) => next({ id }),
      onSuccess: (s) => next({ onSuccess: record(s, plan) }),
      onError: (s) => next({ onError: record(s, plan) }),
      onSettled: (s) => next({ onSettled: record(s, plan) }),
      async dispatch(opts) {
        if (specs.length === 0) throw new InvalidArgumentError('a chain needs at least one job')
        const id = plan.id ?? nanoid()
        if (chains.some((c) => c.id === id)) return id
        const members = (await prepareSpecs(specs, opts)).map((s) => record(s, { ...plan, chainId: id }))
        const made = await callbacks(plan, ['onSuccess', 'onError', 'onSettled'], members, opts)
        storable(...members, made.onSuccess, made.onError, made.onSettled)
        jobs.push(...members)
        chains.push({ ...made, id, jobs: members })
        return id
      },
    }
  }
  const batchBuilder = (specs: readonly unknown[], plan: Omit<RecordedBatch, 'id' | 'jobs'> & { id?: string }): BatchBuilder => {
    const next = (p: Partial<RecordedBatch>): BatchBuilder => batchBuilder(specs, { ...plan, ...p })
    return {
      name: (name) => next({ name }),
      withId: (id) => next({ id }),
      onQueue: (queue) => next({ queue }),
      allowFailures: () => next({ allowFailures: true }),
      onProgress: (s) => next({ onProgress: record(s, plan) }),
      onSuccess: (s) => next({ onSuccess: record(s, plan) }),
      onError: (s) => next({ onError: record(s, plan) }),
      onSettled: (s) => next({ onSettled: record(s, plan) }),
      async dispatch(opts) {
        if (specs.length === 0) throw new InvalidArgumentError('a batch needs at least one job')
        const id = plan.id ?? nanoid()
        if (batches.some((b) => b.id === id)) return id
        const members = (await prepareSpecs(specs, opts)).map((s) => record(s, { ...plan, batchId: id }))
        const made = await callbacks(plan, ['onProgress', 'onSuccess', 'onError', 'onSettled'], members, opts)
        storable(...members, made.onProgress, made.onSuccess, made.onError, made.onSettled)
        jobs.push(...members)
        batches.push({ ...made, id, jobs: members })
        return id
      },
    }
  }

  return {
    async dispatch(spec, opts) {
      const r = record((await prepareSpecs([spec], opts))[0])
      storable(r)
      const duplicate = jobs.some((j) => j.id === r.id)
      if (!duplicate) jobs.push(r)
      return { id: r.id, duplicate }
    },
    async dispatchMany(specs, opts) {
      const recorded = (await prepareSpecs(specs, opts)).map((s) => record(s))
      storable(...recorded)
      const out: DispatchResult[] = []
      for (const r of recorded) {
        const duplicate = jobs.some((j) => j.id === r.id)
        if (!duplicate) jobs.push(r)
        out.push({ id: r.id, duplicate })
      }
      return out
    },
    chain: (...specs) => chainBuilder(specs, {}),
    batch: (...specs) => batchBuilder(specs, { allowFailures: false }),
    async schedule(name, when, spec, options = {}) {
      const r = record((await prepareSpecs([spec]))[0])
      storable(r)
      schedules = [...schedules.filter((s) => s.name !== name), { name, when, job: r, options }]
    },
    async unschedule(name) {
      schedules = schedules.filter((s) => s.name !== name)
    },
    get recorded() {
      return { jobs, chains, batches, schedules }
    },
    reset() {
      jobs = []
      chains = []
      batches = []
      schedules = []
    },

    assertDispatched(type, where) {
      if (matching(type, where).length === 0) {
        fail(`expected a "${type}" job${where ? ' matching the predicate' : ''} to be dispatched`, type, summary(jobs))
      }
    },
    assertDispatchedOn(queue, type, where) {
      if (matching(type, where, queue).length === 0) {
        fail(`expected a "${type}" job${where ? ' matching the predicate' : ''} on queue "${queue}"`, { queue, type }, summary(jobs))
      }
    },
    assertDispatchedTimes(type, times) {
      const n = matching(type).length
      if (n !== times) fail(`expected "${type}" to be dispatched ${times} time(s), it was dispatched ${n}`, times, summary(jobs))
    },
    assertNotDispatched(type, where) {
      const found = matching(type, where)
      if (found.length > 0) fail(`expected no "${type}" job${where ? ' matching the predicate' : ''} to be dispatched`, [], summary(found))
    },
    assertNothingDispatched() {
      if (jobs.length > 0) fail(`expected nothing to be dispatched, ${jobs.length} job(s) were`, [], summary(jobs))
    },
    assertCount(n) {
      if (jobs.length !== n) fail(`expected ${n} job(s) to be dispatched, ${jobs.length} were`, n, summary(jobs))
    },
    assertChained(types) {
      const seen = chains.map((c) => c.jobs.map((j) => j.type))
      if (!seen.some((t) => t.length === types.length && t.every((x, i) => x === types[i]))) {
        fail(`expected a chain of [${types.join(', ')}]`, types, seen)
      }
    },
    assertBatched(predicate) {
      if (!batches.some(predicate)) {
        fail('expected a batch matching the predicate', 'a matching batch', batches.map((b) => ({ name: b.name, jobs: b.jobs.map((j) => j.type) })))
      }
    },
    assertBatchCount(n) {
      if (batches.length !== n) fail(`expected ${n} batch(es), ${batches.length} were dispatched`, n, batches.map((b) => b.name ?? b.id))
    },
    assertNothingBatched() {
      if (batches.length > 0) fail(`expected no batch, ${batches.length} were dispatched`, [], batches.map((b) => b.name ?? b.id))
    },
  }
}

function describeRecorded(v: unknown): string {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v.map((x) => `\n    - ${x}`).join('')
  if (Array.isArray(v) && v.length === 0) return 'nothing'
  return safeJson(v)
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}
