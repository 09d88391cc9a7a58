/**
 * The core job scenarios on an IndexedDB store, with the real clock: run, retry, chain, batch,
 * timeout, delay, priority and lease takeover. Shared by the Node (fake-indexeddb) and the
 * Chromium test files.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { UnrecoverableError, createQueue, job, type JobContext, type Queue, type QueueEvent, type QueueOptions, type Store } from '../../../src/index.js'

export interface Running {
  queue: Queue
  events: QueueEvent[]
  /** Resolves with the first event, past or future, that matches; fails after `ms`. */
  until(predicate: (e: QueueEvent) => boolean, ms?: number): Promise<QueueEvent>
}

/** A queue recording its events, stopped and closed after the test. */
export function queueOn(store: Store, o: Omit<QueueOptions, 'store'> = {}, cleanup: (() => Promise<void>)[]): Running {
  const queue = createQueue({ ...o, store })
  const events: QueueEvent[] = []
  queue.events.subscribe((e) => events.push(e))
  cleanup.push(() => queue.close({ timeoutMs: 100 }))
  return {
    queue,
    events,
    until: (predicate, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const hit = events.find(predicate)
        if (hit) return resolve(hit)
        const timer = setTimeout(() => {
          off()
          reject(new Error(`no matching event within ${ms} ms; saw ${events.map((e) => e.kind).join(', ')}`))
        }, ms)
        const off = queue.events.subscribe((e) => {
          if (!predicate(e)) return
          clearTimeout(timer)
          off()
          resolve(e)
        })
      }),
  }
}

/** Runs the scenarios on stores from `open(name)`; each scenario names fresh databases. */
export function engineScenarios(label: string, open: (name: string) => Store): void {
  const run = Date.now().toString(36)
  let n = 0
  const fresh = (): string => `ferry-engine-${run}-${++n}`
  const makeStore = (): Store => open(fresh())
  // Each waits on the real clock and a real or fake database: seconds on a busy machine.
  describe(`engine on ${label}`, { timeout: 30_000 }, () => {
    const cleanup: (() => Promise<void>)[] = []
    afterEach(async () => {
      for (const c of cleanup.splice(0).reverse()) await c()
    })
    const start = async (o: Omit<QueueOptions, 'store'> = {}, store = makeStore()): Promise<Running> => {
      const r = queueOn(store, o, cleanup)
      return r
    }

    it('runs a job and stores its result', async () => {
      const { queue, until } = await start()
      queue.register('add', (p) => (p as { a: number; b: number }).a + (p as { a: number; b: number }).b)
      await queue.start()
      const { id } = await queue.dispatch(job('add', { a: 2, b: 3 }))
      await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', result: 5, attempt: 1 })
    })

    it('retries with backoff and succeeds, counting attempts', async () => {
      const { queue, until, events } = await start()
      let calls = 0
      queue.register('flaky', () => {
        if (++calls < 3) throw new Error(`try ${calls}`)
        return 'ok'
      })
      await queue.start()
      const { id } = await queue.dispatch(job('flaky', null).retry(3).backoff(10))
      await until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 3, result: 'ok' })
      expect(events.filter((e) => e.kind === 'job:retrying')).toHaveLength(2)
    })

    it('fails for good when attempts run out, and at once on UnrecoverableError', async () => {
      const { queue, until } = await start({ concurrency: 2 })
      queue.register('bad', () => {
        throw new Error('always')
      })
      queue.register('fatal', () => {
        throw new UnrecoverableError('no point')
      })
      await queue.start()
      const bad = await queue.dispatch(job('bad', null).retry(1).backoff(5))
      const fatal = await queue.dispatch(job('fatal', null).retry(5))
      await until((e) => e.kind === 'job:failed' && e.jobId === bad.id)
      await until((e) => e.kind === 'job:failed' && e.jobId === fatal.id)
      expect(await queue.getJob(bad.id)).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'always' } })
      expect(await queue.getJob(fatal.id)).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'UnrecoverableError' } })
    })

    it('runs a chain step after step, and a failing chain runs onError', async () => {
      const { queue, until } = await start({ concurrency: 4 })
      queue.register('step', (s, ctx) => {
        if (s === 'boom') throw new UnrecoverableError('step broke')
        return `${typeof ctx.previousResult === 'string' ? ctx.previousResult : ''}${String(s)}`
      })
      let error: JobContext['error']
      queue.register('oops', (_p, ctx) => void (error = ctx.error))
      await queue.start()
      const ok = await queue.chain(job('step', 'a'), job('step', 'b'), job('step', 'c')).dispatch()
      const bad = await queue.chain(job('step', 'x'), job('step', 'boom'), job('step', 'never')).onError(job('oops', {})).dispatch()
      await until((e) => e.kind === 'chain:completed' && e.chainId === ok)
      await until((e) => e.kind === 'chain:failed' && e.chainId === bad)
      const chain = await queue.findChain(ok)
      expect((await queue.getJob(chain.steps[2]?.jobId ?? ''))?.result).toBe('abc')
      await until((e) => e.kind === 'job:succeeded' && e.jobId === `${bad}:error`)
      expect(error).toMatchObject({ message: 'step broke' })
      expect((await queue.findChain(bad)).steps.map((s) => s.state)).toEqual(['succeeded', 'failed', 'cancelled'])
    })

    it('runs a batch side by side and its onSettled callback once, with the batch state', async () => {
      const { queue, until, events } = await start({ concurrency: 3 })
      queue.register('upload', () => 'done')
      let seen: JobContext['batch']
      queue.register('report', (_p, ctx) => void (seen = ctx.batch))
      await queue.start()
      const id = await queue.batch(...[1, 2, 3, 4, 5].map((n) => job('upload', n))).onSettled(job('report', {})).dispatch()
      await until((e) => e.kind === 'job:succeeded' && e.jobId === `${id}:settled`)
      expect(seen).toMatchObject({ id, state: 'succeeded', total: 5, pending: 0, succeeded: 5 })
      expect(events.filter((e) => e.kind === 'job:started' && e.type === 'report')).toHaveLength(1)
    })

    it('times out an attempt, aborting its signal', async () => {
      const { queue, until } = await start()
      let aborted = false
      queue.register('slow', (_p, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => {
        aborted = true
        reject(ctx.signal.reason)
      })))
      await queue.start()
      const { id } = await queue.dispatch(job('slow', {}).timeout(30).retry(0))
      await until((e) => e.kind === 'job:failed' && e.jobId === id)
      expect(aborted).toBe(true)
      expect(await queue.getJob(id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } })
    })

    it('runs a delayed job once its time comes, and higher priority first', async () => {
      const { queue, until } = await start()
      const order: string[] = []
      const startedAt = new Map<string, number>()
      queue.register('t', (p, ctx) => {
        order.push(String(p))
        startedAt.set(ctx.id, Date.now())
      })
      // The delayed job is dispatched last, so however slow the machine is, it is never due
      // before the others: the order below holds whatever time passes between the calls.
      await queue.dispatchMany([job('t', 'low'), job('t', 'high').priority(5), job('t', 'mid').priority(1)])
      const later = await queue.dispatch(job('t', 'later').delay(60))
      await queue.start()
      await until((e) => e.kind === 'job:succeeded' && e.jobId === later.id)
      expect(order).toEqual(['high', 'mid', 'low', 'later'])
      const record = await queue.getJob(later.id)
      expect(startedAt.get(later.id)).toBeGreaterThanOrEqual(record?.runAt ?? Infinity)
    })

    it('takes over a job whose engine died, once its lease runs out (job:stalled)', async () => {
      const store = makeStore()
      // A dead engine: it claimed the job with a short lease and will never settle or renew it.
      await store.insert({ now: Date.now(), jobs: [{ id: 'orphan', type: 't', queue: 'default', payload: 1, priority: 0, maxAttempts: 3, backoff: 10, runAt: Date.now() }] })
      const dead = await store.settleAndClaim({
        now: Date.now(),
        settle: [],
        claim: { owner: 'dead', token: 'dead-token', queues: ['default'], types: ['t'], limit: 1, leaseUntil: Date.now() + 80 },
      })
      expect(dead.claimed.map((j) => j.id)).toEqual(['orphan'])
      const { queue, until } = await start({}, store)
      queue.register('t', () => 'rescued')
      await queue.start()
      await until((e) => e.kind === 'job:stalled' && e.jobId === 'orphan')
      await until((e) => e.kind === 'job:succeeded' && e.jobId === 'orphan')
      expect(await queue.getJob('orphan')).toMatchObject({ state: 'succeeded', attempt: 2, result: 'rescued' })
      const late = await store.settleAndClaim({ now: Date.now(), settle: [{ id: 'orphan', token: 'dead-token', outcome: { kind: 'succeeded', result: 'late' } }] })
      expect(late.lost).toEqual(['orphan'])
    })

    it('keeps a job across stores: one dispatches and closes, a later one on the database runs it', async () => {
      const name = fresh()
      const first = await start({}, open(name))
      const { id } = await first.queue.dispatch(job('t', 'persisted'))
      await first.queue.close()
      const second = await start({}, open(name))
      second.queue.register('t', (p) => `ran ${String(p)}`)
      await second.queue.start()
      await second.until((e) => e.kind === 'job:succeeded' && e.jobId === id)
      expect(await second.queue.getJob(id)).toMatchObject({ state: 'succeeded', result: 'ran persisted' })
    })

    it('never runs a job twice when two engines share the database', async () => {
      const name = fresh()
      const a = await start({ concurrency: 4 }, open(name))
      const b = await start({ concurrency: 4 }, open(name))
      const runs: { id: string; engine: string }[] = []
      const handler = (engine: string) => async (_p: unknown, ctx: JobContext) => {
        runs.push({ id: ctx.id, engine })
        await new Promise((r) => setTimeout(r, Math.random() * 3))
      }
      a.queue.register('t', handler('a'))
      b.queue.register('t', handler('b'))
      const total = 200
      const ids = (await a.queue.dispatchMany(Array.from({ length: total }, (_, i) => job('t', i)))).map((r) => r.id)
      await Promise.all([a.queue.start(), b.queue.start()])
      await vi.waitFor(async () => expect((await a.queue.counts()).succeeded).toBe(total), { timeout: 20_000, interval: 50 })
      expect(runs).toHaveLength(total)
      expect(new Set(runs.map((r) => r.id))).toEqual(new Set(ids))
      // Both engines took part: the claims really competed.
      expect(runs.some((r) => r.engine === 'a') && runs.some((r) => r.engine === 'b')).toBe(true)
    })
  })
}
