/**
 * The ferry/observable behaviour, run on any store: the memory store, and durable ones.
 */
import { config, firstValueFrom, lastValueFrom, tap, toArray, type Observable, type Subscription } from 'rxjs'
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest'
import { NotFoundError, job, type Counts, type QueueEvent, type QueueLike, type Store } from '../../src/index.js'
import { batch$, chain$, counts$, events$, job$, ofKind } from '../../src/observable/index.js'
import { deferred, harness, settle } from '../helpers.js'

/** A QueueLike that counts live listeners and store reads, around a real queue. */
function watched(q: QueueLike) {
  let listeners = 0
  let countReads = 0
  const like: QueueLike = {
    events: {
      subscribe(l) {
        listeners++
        const off = q.events.subscribe(l)
        let done = false
        return () => {
          if (!done) listeners--
          done = true
          off()
        }
      },
    },
    getJob: (id) => q.getJob(id),
    findBatch: (id) => q.findBatch(id),
    findChain: (id) => q.findChain(id),
    counts: () => {
      countReads++
      return q.counts()
    },
  }
  return { like, listeners: () => listeners, countReads: () => countReads }
}

/**
 * counts$ reads at most once per 50 ms while events arrive, plus the first read and the one
 * after the last event: on a slow store or a busy machine the work takes longer and may read
 * more, but never one read per job.
 */
function expectFewReads(reads: number, elapsedMs: number): void {
  expect(reads, `${reads} reads in ${Math.round(elapsedMs)} ms`).toBeLessThanOrEqual(3 + Math.ceil(elapsedMs / 50))
}

export function observableSuite(name: string, makeStore: () => Store | Promise<Store>): void {
  // Durable stores on a busy machine open and commit slowly: the time limit is generous.
  describe(`ferry/observable on ${name}`, { timeout: 30_000 }, () => {
    const subs: Subscription[] = []
    afterEach(() => {
      for (const s of subs.splice(0)) s.unsubscribe()
    })

    const setup = async () => harness({ store: await makeStore(), concurrency: 4 })

    it('events$ passes every event from the moment of subscribing, replaying nothing', async () => {
      const { queue } = await setup()
      await queue.dispatch(job('before', {}))
      const seen: string[] = []
      subs.push(events$(queue).subscribe((e) => seen.push(e.kind)))
      queue.register('t', () => 'ok')
      await queue.start()
      await queue.dispatch(job('t', {}))
      await vi.waitFor(() => expect(seen).toEqual(['job:dispatched', 'job:started', 'job:succeeded']))
    })

    it('ofKind keeps the kinds asked for and narrows the type', async () => {
      const { queue } = await setup()
      const failed: string[] = []
      const e$ = events$(queue).pipe(ofKind('job:failed', 'job:retrying'))
      expectTypeOf(e$).toEqualTypeOf<Observable<Extract<QueueEvent, { kind: 'job:failed' | 'job:retrying' }>>>()
      subs.push(e$.subscribe((e) => failed.push(`${e.kind}:${e.error.message}`)))
      queue.register('bad', () => {
        throw new Error('nope')
      })
      await queue.start()
      await queue.dispatch(job('bad', {}).retry(0))
      await vi.waitFor(() => expect(failed).toEqual(['job:failed:nope']))
    })

    it('job$ gives the record now, then each change, and completes when the job is finished', async () => {
      const { queue } = await setup()
      const gate = deferred()
      queue.register('t', async (_p, ctx) => {
        await ctx.progress(50)
        await gate.promise
        return 'done'
      })
      const { id } = await queue.dispatch(job('t', {}))
      const all = lastValueFrom(job$(queue, id).pipe(toArray()))
      await settle()
      await queue.start()
      await settle()
      gate.resolve(undefined)
      const records = await all
      const states = records.map((r) => r.state).filter((st, i, all) => st !== all[i - 1])
      expect(states).toEqual(['waiting', 'active', 'succeeded'])
      expect(records.at(-1)).toMatchObject({ state: 'succeeded', result: 'done', progress: 50 })
      expect(records.some((r) => r.progress === 50 && r.state === 'active')).toBe(true)
    })

    it('job$ and counts$ show a delayed job become waiting when its time comes, in a paused queue', async () => {
      const { queue, clock } = await setup()
      queue.register('t', () => 'ok')
      await queue.start()
      queue.pause()
      const { id } = await queue.dispatch(job('t', {}).delay(1000))
      const states: string[] = []
      const counts: Counts[] = []
      subs.push(job$(queue, id).subscribe((j) => states.push(j.state)))
      subs.push(counts$(queue).subscribe((c) => counts.push(c)))
      await vi.waitFor(() => expect(states).toEqual(['delayed']))
      await vi.waitFor(() => expect(counts.at(-1)).toMatchObject({ delayed: 1, waiting: 0 }))
      clock.advance(1000)
      await vi.waitFor(() => expect(states).toEqual(['delayed', 'waiting']))
      await vi.waitFor(() => expect(counts.at(-1)).toMatchObject({ delayed: 0, waiting: 1 }))
    })

    it('job$ shows a retry waiting between its backoff and its next attempt', async () => {
      const { queue, clock } = await setup()
      const gates = [deferred(), deferred()]
      let attempt = 0
      queue.register('flaky', async () => {
        const gate = gates[attempt++]
        await gate?.promise
        if (attempt === 1) throw new Error('offline')
        return 'ok'
      })
      const { id } = await queue.dispatch(job('flaky', {}).retry(1).backoff(1000))
      const states: string[] = []
      const done = lastValueFrom(job$(queue, id).pipe(tap((j) => states.at(-1) !== j.state && states.push(j.state)), toArray()))
      await vi.waitFor(() => expect(states).toEqual(['waiting']))
      await queue.start()
      await vi.waitFor(() => expect(states.at(-1)).toBe('active'))
      gates[0]?.resolve(undefined)
      await vi.waitFor(() => expect(states.at(-1)).toBe('delayed'))
      // Paused, the engine claims nothing: the job stays waiting once its backoff has passed.
      queue.pause()
      clock.advance(1000)
      await vi.waitFor(() => expect(states.at(-1)).toBe('waiting'))
      queue.resume()
      await vi.waitFor(() => expect(states.at(-1)).toBe('active'))
      gates[1]?.resolve(undefined)
      expect((await done).at(-1)).toMatchObject({ state: 'succeeded', result: 'ok' })
      expect(states).toEqual(['waiting', 'active', 'delayed', 'waiting', 'active', 'succeeded'])
    })

    it('job$ of a finished job gives the final record and completes', async () => {
      const { queue } = await setup()
      queue.register('t', () => 42)
      await queue.start()
      const { id } = await queue.dispatch(job('t', {}))
      await vi.waitFor(async () => expect((await queue.getJob(id))?.state).toBe('succeeded'))
      const records = await lastValueFrom(job$(queue, id).pipe(toArray()))
      expect(records).toEqual([expect.objectContaining({ id, state: 'succeeded', result: 42 })])
    })

    it('job$ errors with NotFoundError for an unknown id', async () => {
      const { queue } = await setup()
      await expect(firstValueFrom(job$(queue, 'nope'))).rejects.toBeInstanceOf(NotFoundError)
    })

    it('batch$ follows the counters and completes when the batch is finished', async () => {
      const { queue } = await setup()
      queue.register('t', () => 'ok')
      const id = await queue.batch(job('t', 1), job('t', 2), job('t', 3)).dispatch()
      const states = lastValueFrom(batch$(queue, id).pipe(toArray()))
      await settle()
      await queue.start()
      const seen = await states
      expect(seen[0]).toMatchObject({ pending: 3, succeeded: 0, state: 'running' })
      expect(seen.at(-1)).toMatchObject({ pending: 0, succeeded: 3, state: 'succeeded' })
      expect(seen.at(-1)?.finishedAt).toBeDefined()
      const pendings = seen.map((b) => b.pending)
      expect([...pendings].sort((a, b) => b - a)).toEqual(pendings)
      await expect(firstValueFrom(batch$(queue, 'nope'))).rejects.toBeInstanceOf(NotFoundError)
    })

    it('chain$ follows the steps and completes when the chain is finished', async () => {
      const { queue } = await setup()
      queue.register('t', () => 'ok')
      const id = await queue.chain(job('t', 1), job('t', 2)).dispatch()
      const states = lastValueFrom(chain$(queue, id).pipe(toArray()))
      await settle()
      await queue.start()
      const seen = await states
      expect(seen[0]?.steps.map((s) => s.state)).toEqual(['waiting', 'blocked'])
      expect(seen.at(-1)?.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded'])
      expect(seen.at(-1)?.state).toBe('succeeded')
    })

    for (const concurrency of [1, 4]) {
      it(`counts$ reads the counts a few times while a thousand jobs run at concurrency ${concurrency}, and ends on the counts at rest`, async () => {
        const { queue } = harness({ store: await makeStore(), concurrency })
        const w = watched(queue)
        const seen: Counts[] = []
        subs.push(counts$(w.like).subscribe((c) => seen.push(c)))
        await vi.waitFor(() => expect(seen).toEqual([{ blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }]))
        queue.register('t', () => 'ok')
        await queue.dispatchMany(Array.from({ length: 1000 }, (_, i) => job('t', i)))
        const t0 = performance.now()
        await queue.start()
        await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ waiting: 0, active: 0, succeeded: 1000 }), { timeout: 30_000 })
        expect(seen.at(-1)).toEqual(await queue.counts())
        expectFewReads(w.countReads(), performance.now() - t0)
      }, 60_000)
    }

    it('counts$ reads the counts a few times over a thousand awaited dispatches, and ends on the counts at rest', async () => {
      const { queue } = await setup()
      const w = watched(queue)
      const seen: Counts[] = []
      subs.push(counts$(w.like).subscribe((c) => seen.push(c)))
      await vi.waitFor(() => expect(seen).toHaveLength(1))
      const t0 = performance.now()
      for (let i = 0; i < 1000; i++) await queue.dispatch(job('t', i))
      await vi.waitFor(() => expect(seen.at(-1)).toMatchObject({ waiting: 1000 }), { timeout: 30_000 })
      expect(seen.at(-1)).toEqual(await queue.counts())
      expectFewReads(w.countReads(), performance.now() - t0)
    }, 60_000)

    it('leaves no listener behind after many subscribe/unsubscribe rounds', async () => {
      const { queue, clock } = await setup()
      const w = watched(queue)
      queue.register('t', () => 'ok')
      const { id } = await queue.dispatch(job('t', {}))
      const batchId = await queue.batch(job('t', 1)).dispatch()
      const chainId = await queue.chain(job('t', 1)).dispatch()
      for (let i = 0; i < 200; i++) {
        const streams: Observable<unknown>[] = [events$(w.like), job$(w.like, id), batch$(w.like, batchId), chain$(w.like, chainId), counts$(w.like)]
        const round = streams.map((o) => o.subscribe({ error: () => {} }))
        for (const s of round) s.unsubscribe()
      }
      await settle()
      expect(w.listeners()).toBe(0)
      expect(clock.pending).toBe(0)
    })

    it('keeps the engine and other subscribers going when a subscriber throws', async () => {
      const { queue } = await setup()
      const reported: unknown[] = []
      const before = config.onUnhandledError
      config.onUnhandledError = (err) => reported.push(err)
      try {
        const bad = events$(queue).subscribe(() => {
          throw new Error('subscriber bug')
        })
        subs.push(bad)
        const kinds: string[] = []
        subs.push(events$(queue).subscribe((e) => kinds.push(e.kind)))
        queue.register('t', () => 'ok')
        await queue.start()
        const a = await queue.dispatch(job('t', 1))
        const b = await queue.dispatch(job('t', 2))
        await vi.waitFor(() => expect(kinds.filter((k) => k === 'job:succeeded')).toHaveLength(2))
        expect((await queue.getJob(a.id))?.state).toBe('succeeded')
        expect((await queue.getJob(b.id))?.state).toBe('succeeded')
        expect(reported.length).toBeGreaterThan(0)
        // RxJS reports on a timer: let the last reports land before the handler is restored.
        bad.unsubscribe()
        await new Promise((resolve) => setTimeout(resolve, 20))
      } finally {
        config.onUnhandledError = before
      }
    })
  })
}
