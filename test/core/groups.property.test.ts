/**
 * Random chains and batches, random handler failures and hangs, engines that die (stop
 * renewing, never settle) and are replaced. After everything settles: no step ran before its
 * predecessor succeeded, none was skipped, every callback exists exactly when its rule says,
 * and every batch's counters equal its jobs' states.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { StorageError, UnrecoverableError, createQueue, job, memoryStore, type Clock, type Queue, type Store } from '../../src/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { settle } from '../helpers.js'

type Outcome = 'ok' | 'fail' | 'fatal' | 'hang'

interface GroupPlan {
  kind: 'chain' | 'batch'
  jobs: { retry: number; outcomes: Outcome[] }[]
  allowFailures: boolean
  callbacks: { success: boolean; error: boolean; settled: boolean; progress: boolean }
}

const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'fail', 'fatal', 'hang')
const groupPlan: fc.Arbitrary<GroupPlan> = fc.record({
  kind: fc.constantFrom('chain', 'batch'),
  jobs: fc.array(fc.record({ retry: fc.integer({ min: 0, max: 2 }), outcomes: fc.array(outcome, { maxLength: 3 }) }), { minLength: 1, maxLength: 4 }),
  allowFailures: fc.boolean(),
  callbacks: fc.record({ success: fc.boolean(), error: fc.boolean(), settled: fc.boolean(), progress: fc.boolean() }),
})
const scenario = fc.record({
  groups: fc.array(groupPlan, { minLength: 1, maxLength: 4 }),
  engines: fc.integer({ min: 1, max: 3 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  kills: fc.array(fc.record({ at: fc.integer({ min: 0, max: 60 }), engine: fc.nat() }), { maxLength: 3 }),
})

/** An engine that can die: its timers stop and its store calls fail, as for a killed process. */
function mortalEngine(store: Store, clock: ManualClock, concurrency: number, setup: (q: Queue) => void) {
  let dead = false
  const ownClock: Clock = {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimeout(() => !dead && fn(), ms),
    clearTimeout: (h) => clock.clearTimeout(h),
  }
  const guarded = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown
      if (typeof v !== 'function') return v
      return (...args: unknown[]) => (dead ? Promise.reject(new StorageError('engine is dead')) : (v as (...a: unknown[]) => unknown).apply(target, args))
    },
  })
  const queue = createQueue({ store: guarded, clock: ownClock, concurrency, leaseMs: 60, defaults: { backoff: 10 } })
  setup(queue)
  return { queue, kill: () => void (dead = true), get dead() { return dead } }
}

describe('chains and batches under failures, stalls and restarts (property)', () => {
  it('never skips, reorders or doubles a step, a callback or a count', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const store = memoryStore()
        const clock = new ManualClock(0)
        const attempts = new Map<string, number>()
        const plans = new Map<string, { retry: number; outcomes: Outcome[] }>()
        const violations: string[] = []
        // Every run of a handler, by job id: the attempt it ran as.
        const runs = new Map<string, number[]>()
        const ran = (ctx: { id: string; attempt: number }): void => void runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), ctx.attempt])

        const setup = (q: Queue): void => {
          q.register('work', async (label, ctx) => {
            const plan = plans.get(label as string)
            if (!plan) throw new Error(`unknown label ${String(label)}`)
            if (ctx.chainId !== undefined) {
              const chain = await store.getChain(ctx.chainId)
              const i = chain?.steps.findIndex((s) => s.jobId === ctx.id) ?? -1
              const prev = i > 0 ? await store.getJob(chain?.steps[i - 1]?.jobId ?? '') : undefined
              if (i > 0 && prev?.state !== 'succeeded') violations.push(`step ${ctx.id} ran before its predecessor succeeded`)
              if (i > 0 && ctx.previousResult !== prev?.result) violations.push(`step ${ctx.id} got the wrong previousResult`)
            }
            ran(ctx)
            const n = (attempts.get(ctx.id) ?? 0) + 1
            attempts.set(ctx.id, n)
            const o = plan.outcomes[n - 1] ?? 'ok'
            if (o === 'fail') throw new Error('transient')
            if (o === 'fatal') throw new UnrecoverableError('fatal')
            // Hangs until its attempt ends (timeout, lost lease, stop). A handler that never
            // returned would keep its job from running on its engine for a lease after that.
            if (o === 'hang') return new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve('late')))
            return `${String(label)}#${n}`
          })
          q.register('callback', (_p, ctx) => ran(ctx))
        }

        const engines = Array.from({ length: sc.engines }, () => mortalEngine(store, clock, sc.concurrency, setup))
        for (const e of engines) await e.queue.start()

        const producer = createQueue({ store, clock })
        const groups: { id: string; plan: GroupPlan }[] = []
        for (const [g, plan] of sc.groups.entries()) {
          const specs = plan.jobs.map((j, i) => {
            const label = `g${g}j${i}`
            plans.set(label, j)
            return job('work', label).retry(j.retry).timeout(40)
          })
          const cb = (on: string) => job('callback', on)
          if (plan.kind === 'chain') {
            let b = producer.chain(...specs)
            if (plan.callbacks.success) b = b.onSuccess(cb('success'))
            if (plan.callbacks.error) b = b.onError(cb('error'))
            if (plan.callbacks.settled) b = b.onSettled(cb('settled'))
            groups.push({ id: await b.dispatch(), plan })
          } else {
            let b = producer.batch(...specs)
            if (plan.allowFailures) b = b.allowFailures()
            if (plan.callbacks.success) b = b.onSuccess(cb('success'))
            if (plan.callbacks.error) b = b.onError(cb('error'))
            if (plan.callbacks.settled) b = b.onSettled(cb('settled'))
            if (plan.callbacks.progress) b = b.onProgress(cb('progress'))
            groups.push({ id: await b.dispatch(), plan })
          }
        }

        for (let step = 0; step < 400; step++) {
          for (const k of sc.kills.filter((k) => k.at === step)) {
            const i = k.engine % engines.length
            engines[i]?.kill()
            const fresh = mortalEngine(store, clock, sc.concurrency, setup)
            engines[i] = fresh
            await fresh.queue.start()
          }
          clock.advance(20)
          await settle(2)
          const c = await producer.counts()
          if (step > 60 && c.waiting + c.delayed + c.active + c.blocked === 0) break
        }

        const c = await producer.counts()
        expect(c.waiting + c.delayed + c.active + c.blocked, JSON.stringify(c)).toBe(0)
        expect(violations).toEqual([])

        for (const { id, plan } of groups) {
          const cbState = async (on: string) => (await store.getJob(`${id}:${on}`))?.state
          if (plan.kind === 'chain') {
            const chain = await producer.findChain(id)
            const states = chain.steps.map((s) => s.state)
            const firstBad = states.findIndex((s) => s !== 'succeeded')
            if (chain.state === 'succeeded') expect(firstBad).toBe(-1)
            else {
              expect(chain.state).toBe('failed')
              expect(states[firstBad]).toBe('failed')
              expect(states.slice(firstBad + 1).every((s) => s === 'cancelled')).toBe(true)
            }
            expect(await cbState('success')).toBe(plan.callbacks.success && chain.state === 'succeeded' ? 'succeeded' : undefined)
            expect(await cbState('error')).toBe(plan.callbacks.error && chain.state === 'failed' ? 'succeeded' : undefined)
            expect(await cbState('settled')).toBe(plan.callbacks.settled ? 'succeeded' : undefined)
          } else {
            const b = await producer.findBatch(id)
            const members = await Promise.all(b.jobIds.map((m) => store.getJob(m)))
            const count = (s: string) => members.filter((m) => m?.state === s).length
            expect({ succeeded: b.succeeded, failed: b.failed, cancelled: b.cancelled, pending: b.pending }).toEqual({
              succeeded: count('succeeded'),
              failed: count('failed'),
              cancelled: count('cancelled'),
              pending: 0,
            })
            expect(b.total).toBe(plan.jobs.length)
            if (!plan.allowFailures && b.failed > 0) expect(b.state).toBe('failed')
            expect(b.state).toBe(b.failed > 0 ? 'failed' : 'succeeded')
            expect(await cbState('success')).toBe(plan.callbacks.success && b.state === 'succeeded' ? 'succeeded' : undefined)
            expect(await cbState('error')).toBe(plan.callbacks.error && b.failed > 0 ? 'succeeded' : undefined)
            expect(await cbState('settled')).toBe(plan.callbacks.settled ? 'succeeded' : undefined)
            const progress = await producer.listJobs({ type: 'callback', state: ['waiting', 'delayed'] })
            expect(progress).toEqual([])
          }
        }
        // No attempt of a step or a callback ran twice; a job ran once per attempt its claims
        // started, or fewer only when an engine died holding it; succeeded and failed jobs ran,
        // and the steps a chain cancelled after a failure never did (a batch may cancel members
        // that are running).
        const killed = sc.kills.length > 0
        for (const record of await producer.listJobs({ limit: 1000 })) {
          const attemptsRun = runs.get(record.id) ?? []
          expect(new Set(attemptsRun).size, `${record.id} ran an attempt twice: ${attemptsRun.join(',')}`).toBe(attemptsRun.length)
          expect(Math.max(0, ...attemptsRun), `${record.id} ran past its attempts`).toBeLessThanOrEqual(record.attempt)
          if (record.state === 'cancelled' && record.chainId !== undefined) expect(attemptsRun, record.id).toEqual([])
          if (record.state === 'succeeded' || record.state === 'failed') expect(attemptsRun.length, `${record.id} never ran`).toBeGreaterThanOrEqual(1)
          if (!killed) expect(attemptsRun.length, `${record.id} ran ${attemptsRun.length} times in ${record.attempt} attempts`).toBe(record.attempt)
          if (!killed && record.type === 'callback') expect(attemptsRun, `callback ${record.id}`).toEqual([1])
        }
        for (const e of engines) e.kill()
      }),
      { numRuns: 40 },
    )
  }, 180_000)
})
