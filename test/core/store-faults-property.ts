/**
 * The store-faults property, shared by the Node run (memory store, SQLite) and the browser run
 * (IndexedDB): a generated workload of single jobs, chains, batches, a schedule and callbacks,
 * run by one engine on a manual clock over a `faultyStore` that fails the calls a generated
 * plan picks, before, inside or after their transactions. Then the faults stop and the engine
 * runs on until nothing is left. What must hold:
 * - no acknowledged dispatch is lost: a job, chain or batch whose dispatch resolved exists and
 *   finished;
 * - every job ends in exactly one finished state, told by exactly one event;
 * - no chain step or callback is skipped or doubled: a chain finished as its steps say, with its
 *   callbacks exactly as its rules say, a batch's counters equal its jobs' states;
 * - at least once, and no attempt spent without its handler: each job ran its handler once per
 *   attempt counted, never twice for one attempt, so a job that succeeded or failed ran
 *   (nothing here fails a job by a rule without running it: no engine dies);
 * - the engine keeps running and reports each failed call of its own as `queue:error`.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { UnrecoverableError, createQueue, job, type JobRecord, type Queue, type QueueEvent, type Store } from '../../src/index.js'
import { engineActivity } from '../../src/core/queue.js'
import { ManualClock, faultyStore, INJECTED_FAULT, type FaultKind, type FaultRule, type StoreMethod } from '../../src/testing/index.js'

/** What an attempt does: succeed, fail for a retry, fail for good, or succeed after 1.5 leases. */
type Outcome = 'ok' | 'fail' | 'fatal' | 'slow'

interface JobPlan {
  retry: number
  outcomes: Outcome[]
  progress: boolean
}

interface GroupPlan {
  kind: 'chain' | 'batch'
  jobs: JobPlan[]
  allowFailures: boolean
  callbacks: { success: boolean; error: boolean; settled: boolean; progress: boolean }
}

interface Fault {
  method: StoreMethod
  nth: number
  kind: FaultKind
}

export interface Scenario {
  singles: JobPlan[]
  /** Single jobs (by index) cancelled right after they were dispatched. */
  cancels: number[]
  groups: GroupPlan[]
  schedule: boolean
  concurrency: number
  faults: Fault[]
}

const jobPlan: fc.Arbitrary<JobPlan> = fc.record({
  retry: fc.integer({ min: 0, max: 2 }),
  outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'ok', 'fail', 'fatal', 'slow'), { maxLength: 3 }),
  progress: fc.boolean(),
})

const groupPlan: fc.Arbitrary<GroupPlan> = fc.record({
  kind: fc.constantFrom('chain', 'batch'),
  jobs: fc.array(jobPlan, { minLength: 1, maxLength: 3 }),
  allowFailures: fc.boolean(),
  callbacks: fc.record({ success: fc.boolean(), error: fc.boolean(), settled: fc.boolean(), progress: fc.boolean() }),
})

/** Mostly the engine's own calls, where a lost reply hurts most; dispatches and admin too. */
const faultMethod = fc.constantFrom<StoreMethod>('settleAndClaim', 'settleAndClaim', 'settleAndClaim', 'renew', 'insert', 'progress', 'cancel', 'putSchedule', 'deleteSchedule')

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  singles: fc.array(jobPlan, { maxLength: 4 }),
  cancels: fc.array(fc.nat({ max: 3 }), { maxLength: 2 }),
  groups: fc.array(groupPlan, { maxLength: 3 }),
  schedule: fc.boolean(),
  concurrency: fc.integer({ min: 1, max: 2 }),
  faults: fc.array(fc.record({ method: faultMethod, nth: fc.integer({ min: 1, max: 12 }), kind: fc.constantFrom<FaultKind>('before', 'inside', 'after') }), { maxLength: 6 }),
})

const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])
const TERMINAL: Record<string, JobRecord['state']> = { 'job:succeeded': 'succeeded', 'job:failed': 'failed', 'job:cancelled': 'cancelled' }
const LEASE_MS = 1000

/** One turn of the host's event loop. */
const macrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0))

/**
 * Waits until the engine has no turn under way and did not move during a turn of the event
 * loop. Unlike `TestQueue.runUntilIdle` it does not wait for outcomes still to be stored: after
 * a failed store call they wait for the engine's retry timer, which only `advance` fires.
 */
async function idle(queue: Queue): Promise<void> {
  let last = -1
  for (let i = 0; i < 10_000; i++) {
    await macrotask()
    const a = engineActivity(queue)
    if (a.busy || a.progress !== last) last = a.progress
    else return
  }
  throw new Error('the engine never went idle')
}

/** Moves the clock `ms` forward, stopping at each timer on the way and letting the engine run. */
async function advance(queue: Queue, clock: ManualClock, ms: number): Promise<void> {
  const end = clock.now() + ms
  await idle(queue)
  for (;;) {
    const next = clock.nextAt()
    if (next === undefined || next > end) break
    clock.advance(Math.max(0, next - clock.now()))
    await idle(queue)
  }
  clock.advance(end - clock.now())
  await idle(queue)
}

/** Runs one scenario on a fresh store from `makeStore` and checks every property; closes the store. */
export async function checkScenario(sc: Scenario, makeStore: () => Store | Promise<Store>): Promise<void> {
  const rules: FaultRule[] = sc.faults.map((f) => ({ method: f.method, nth: f.nth, kind: f.kind, times: 1 }))
  const store = faultyStore(await makeStore(), rules)
  const clock = new ManualClock(0)
  const queue = createQueue({ store, clock, concurrency: sc.concurrency, leaseMs: LEASE_MS, defaults: { backoff: 10 } })
  const events: QueueEvent[] = []
  queue.events.subscribe((e) => events.push(e))
  const plans = new Map<string, JobPlan>()
  /** The attempts each job's handler ran as, by job id. */
  const runs = new Map<string, number[]>()
  const ran = (ctx: { id: string; attempt: number }): void => void runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.attempt])

  queue.register('work', async (label, ctx) => {
    ran(ctx)
    const plan = plans.get(label as string)
    if (!plan) throw new Error(`unknown label ${String(label)}`)
    // A progress write may fail like any other: the attempt goes on without it.
    if (plan.progress) await ctx.progress(ctx.attempt).catch(() => undefined)
    const o = plan.outcomes[(runs.get(ctx.id)?.length ?? 1) - 1] ?? 'ok'
    if (o === 'fail') throw new Error('transient')
    if (o === 'fatal') throw new UnrecoverableError('fatal')
    // Outlives its lease unless renewals keep it: renewals the plan fails are tried again.
    if (o === 'slow') await new Promise<void>((resolve) => clock.setTimeout(() => resolve(), LEASE_MS * 1.5))
    return `${String(label)}#${ctx.attempt}`
  })
  queue.register('callback', (_p, ctx) => ran(ctx))

  await queue.start()
  try {
    const acked: { jobs: string[]; chains: { id: string; plan: GroupPlan }[]; batches: { id: string; plan: GroupPlan }[] } = { jobs: [], chains: [], batches: [] }
    const spec = (label: string, p: JobPlan) => {
      plans.set(label, p)
      return job('work', label).retry(p.retry)
    }
    for (const [i, p] of sc.singles.entries()) {
      const id = `single-${i}`
      await queue.dispatch(spec(id, p).withId(id)).then(() => acked.jobs.push(id), () => undefined)
    }
    for (const i of sc.cancels) await queue.cancel(`single-${i}`).catch(() => undefined)
    for (const [g, plan] of sc.groups.entries()) {
      const specs = plan.jobs.map((p, i) => spec(`g${g}j${i}`, p))
      const cb = (on: string) => job('callback', on)
      if (plan.kind === 'chain') {
        let b = queue.chain(...specs)
        if (plan.callbacks.success) b = b.onSuccess(cb('success'))
        if (plan.callbacks.error) b = b.onError(cb('error'))
        if (plan.callbacks.settled) b = b.onSettled(cb('settled'))
        await b.dispatch().then((id) => acked.chains.push({ id, plan }), () => undefined)
      } else {
        let b = queue.batch(...specs)
        if (plan.allowFailures) b = b.allowFailures()
        if (plan.callbacks.success) b = b.onSuccess(cb('success'))
        if (plan.callbacks.error) b = b.onError(cb('error'))
        if (plan.callbacks.settled) b = b.onSettled(cb('settled'))
        if (plan.callbacks.progress) b = b.onProgress(cb('progress'))
        await b.dispatch().then((id) => acked.batches.push({ id, plan }), () => undefined)
      }
    }
    if (sc.schedule) await queue.schedule('tick', { every: 300 }, job('callback', 'tick')).catch(() => undefined)

    // With faults: time moves in steps, so retries, renewals and schedules come round.
    await advance(queue, clock, 1200)
    // Without: the schedule ends, and everything left runs to its end.
    store.heal()
    if (sc.schedule) await queue.unschedule('tick')
    for (let i = 0; i < 20; i++) {
      await advance(queue, clock, LEASE_MS)
      const c = await queue.counts()
      if (c.waiting + c.delayed + c.active + c.blocked === 0) break
    }

    const all = await queue.listJobs({ limit: 10_000 })
    const unfinished = all.filter((j) => !FINISHED.has(j.state))
    expect(unfinished.map((j) => `${j.id}: ${j.state}`), 'jobs left unfinished').toEqual([])

    for (const id of acked.jobs) expect(await queue.getJob(id), `acknowledged job ${id}`).toBeDefined()

    // One finished state each, told once.
    const told = new Map<string, string[]>()
    for (const e of events) {
      const id = 'jobId' in e ? e.jobId : undefined
      const state = TERMINAL[e.kind]
      if (id !== undefined && state !== undefined) told.set(id, [...(told.get(id) ?? []), state])
    }
    for (const j of all) expect(told.get(j.id), `finished events of ${j.id}`).toEqual([j.state])

    for (const j of all) {
      const attempts = runs.get(j.id) ?? []
      expect(new Set(attempts).size, `${j.id} ran an attempt twice: ${attempts.join(',')}`).toBe(attempts.length)
      expect(attempts.length, `${j.id} (${j.state}, ${j.error?.code ?? 'no error'}) ran ${attempts.length} times in ${j.attempt} attempts`).toBe(j.attempt)
      if (j.state !== 'cancelled') expect(attempts.length, `${j.id} ended ${j.state} without running`).toBeGreaterThanOrEqual(1)
    }

    for (const { id, plan } of acked.chains) {
      const chain = await queue.findChain(id)
      const states = chain.steps.map((s) => s.state)
      const firstBad = states.findIndex((s) => s !== 'succeeded')
      if (chain.state === 'succeeded') expect(firstBad).toBe(-1)
      else {
        expect(chain.state, `chain ${id}: ${states.join(',')}`).toBe('failed')
        expect(states[firstBad]).toBe('failed')
        expect(states.slice(firstBad + 1).every((s) => s === 'cancelled')).toBe(true)
      }
      for (const s of chain.steps.filter((x) => x.state === 'cancelled')) expect(runs.get(s.jobId), `cancelled step ${s.jobId}`).toBeUndefined()
      const cb = async (on: string) => (await queue.getJob(`${id}:${on}`))?.state
      expect(await cb('success')).toBe(plan.callbacks.success && chain.state === 'succeeded' ? 'succeeded' : undefined)
      expect(await cb('error')).toBe(plan.callbacks.error && chain.state === 'failed' ? 'succeeded' : undefined)
      expect(await cb('settled')).toBe(plan.callbacks.settled ? 'succeeded' : undefined)
    }
    for (const { id, plan } of acked.batches) {
      const b = await queue.findBatch(id)
      const members = await Promise.all(b.jobIds.map((m) => queue.getJob(m)))
      const count = (s: string) => members.filter((m) => m?.state === s).length
      expect({ total: b.total, succeeded: b.succeeded, failed: b.failed, cancelled: b.cancelled, pending: b.pending }).toEqual({
        total: plan.jobs.length,
        succeeded: count('succeeded'),
        failed: count('failed'),
        cancelled: count('cancelled'),
        pending: 0,
      })
      expect(b.state).toBe(b.failed > 0 ? 'failed' : 'succeeded')
      const cb = async (on: string) => (await queue.getJob(`${id}:${on}`))?.state
      expect(await cb('success')).toBe(plan.callbacks.success && b.state === 'succeeded' ? 'succeeded' : undefined)
      expect(await cb('error')).toBe(plan.callbacks.error && b.failed > 0 ? 'succeeded' : undefined)
      expect(await cb('settled')).toBe(plan.callbacks.settled ? 'succeeded' : undefined)
    }

    // Each failed call of the engine's own was reported, once.
    const own = store.injected.filter((f) => f.method === 'settleAndClaim' || f.method === 'renew')
    const reported = events.filter((e) => e.kind === 'queue:error' && e.error?.code === INJECTED_FAULT)
    expect(reported.length, 'queue:error events for the faults of the engine').toBe(own.length)
  } finally {
    await queue.close({ timeoutMs: 0 })
  }
}
