import { describe, expect, it } from 'vitest'
import { job, memoryStore, type QueueEvent, type SettleAndClaimInput, type Store } from '../../src/index.js'
import { createTestQueue } from '../../src/testing/index.js'
import { advance, harness } from '../helpers.js'

/** The events of one job, without the time. */
function of(events: QueueEvent[], id: string): string[] {
  return events.filter((e) => 'jobId' in e && e.jobId === id).map((e) => e.kind)
}

describe('delayed jobs coming due', () => {
  it('moves a delayed job of a paused queue to waiting at its runAt, with a job:waiting event', async () => {
    const q = createTestQueue({ startAt: 1_000_000 })
    const events: QueueEvent[] = []
    q.events.subscribe((e) => events.push(e))
    q.register('t', () => {})
    await q.runUntilIdle()
    q.pause()
    const { id } = await q.dispatch(job('t', {}).delay(60_000))
    await q.advance(59_999)
    expect(of(events, id)).toEqual(['job:dispatched'])
    await q.advance(1)
    expect(events.filter((e) => e.kind === 'job:waiting')).toEqual([{ kind: 'job:waiting', at: 1_060_000, jobId: id, type: 't', queue: 'default' }])
    expect((await q.counts()).waiting).toBe(1)
    q.resume()
    await q.runUntilIdle()
    expect(of(events, id)).toEqual(['job:dispatched', 'job:waiting', 'job:started', 'job:succeeded'])
    await q.close()
  })

  it('tells when a retry comes due while every slot is busy', async () => {
    const q = createTestQueue({ startAt: 1_000_000, concurrency: 1, handlerWaitMs: 0 })
    const events: QueueEvent[] = []
    q.events.subscribe((e) => events.push(e))
    let tries = 0
    q.register('flaky', () => {
      if (++tries === 1) throw new Error('once')
    })
    let release!: () => void
    q.register('long', () => new Promise<void>((resolve) => (release = resolve)))
    const flaky = await q.dispatch(job('flaky', {}).retry(1).backoff(1000))
    await q.runUntilIdle()
    await q.dispatch(job('long', {}))
    await q.runUntilIdle()
    await q.advance(1000)
    expect(of(events, flaky.id)).toEqual(['job:dispatched', 'job:started', 'job:retrying', 'job:waiting'])
    release()
    await q.runUntilIdle()
    expect(of(events, flaky.id)).toEqual(['job:dispatched', 'job:started', 'job:retrying', 'job:waiting', 'job:started', 'job:succeeded'])
    await q.close()
  })

  it('moves a due job to waiting once, with one event, however many engines share the store', async () => {
    const a = harness()
    const b = harness({ store: a.store, clock: a.clock })
    for (const h of [a, b]) {
      await h.queue.start()
      h.queue.pause()
    }
    const { id } = await a.queue.dispatch(job('t', {}).delay(1000))
    await advance(a.clock, 5000, 500)
    expect(of(a.events, id)).toEqual(['job:dispatched', 'job:waiting'])
    expect(of(b.events, id)).toEqual(['job:dispatched', 'job:waiting'])
  })

  it('calls the store while every slot is busy only when something comes due', async () => {
    const inner = memoryStore()
    const calls: SettleAndClaimInput[] = []
    const store: Store = { ...inner, settleAndClaim: (input) => (calls.push(input), inner.settleAndClaim(input)) }
    const q = createTestQueue({ store, startAt: 1_000_000, handlerWaitMs: 0 })
    let release!: () => void
    q.register('long', () => new Promise<void>((resolve) => (release = resolve)))
    await q.dispatch(job('long', {}))
    const { id } = await q.dispatch(job('long', {}).delay(10 * 60_000))
    await q.runUntilIdle()
    calls.length = 0
    await q.advance(10 * 60_000 - 1)
    expect(calls).toEqual([])
    await q.advance(1)
    expect(calls).toEqual([{ now: q.clock.now(), settle: [], tick: { queues: ['default'] } }])
    expect((await store.getJob(id))?.state).toBe('waiting')
    release()
    await q.runUntilIdle()
    await q.close()
  })
})
