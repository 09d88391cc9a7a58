/**
 * How counts$ spaces its reads, on a stand-in queue and fake platform timers: deterministic,
 * where the store suite measures real runs.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Counts, type QueueEvent, type QueueLike } from '../../src/index.js'
import { counts$ } from '../../src/observable/index.js'
import { deferred } from '../helpers.js'

const ZERO: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }

/** A QueueLike whose jobs finish when the test says, counting reads of the counts. */
function standIn(read?: () => Promise<void>) {
  const listeners = new Set<(e: QueueEvent) => void>()
  let succeeded = 0
  let reads = 0
  const like: QueueLike = {
    events: {
      subscribe(l) {
        listeners.add(l)
        return () => listeners.delete(l)
      },
    },
    getJob: () => Promise.resolve(undefined),
    findBatch: () => Promise.reject(new Error('no batches here')),
    findChain: () => Promise.reject(new Error('no chains here')),
    counts: async () => {
      reads++
      const now = succeeded
      await read?.()
      return { ...ZERO, succeeded: now }
    },
  }
  const finish = (): void => {
    succeeded++
    for (const l of listeners) l({ kind: 'job:succeeded', at: 0, jobId: `j${succeeded}`, type: 't' })
  }
  return { like, finish, reads: () => reads, listeners: () => listeners.size }
}

describe('counts$ reads', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('at most once per 50 ms while events keep arriving, then once after the last, ending exact', async () => {
    const s = standIn()
    const seen: number[] = []
    const sub = counts$(s.like).subscribe((c) => seen.push(c.succeeded))
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([0])
    // A thousand jobs finishing over a second.
    for (let i = 0; i < 1000; i++) {
      s.finish()
      await vi.advanceTimersByTimeAsync(1)
    }
    await vi.advanceTimersByTimeAsync(50)
    expect(seen.at(-1)).toBe(1000)
    // The first read, one per 50 ms window over the second, and the one after the last event.
    expect(s.reads()).toBeLessThanOrEqual(1 + 1000 / 50 + 1)
    expect(s.reads()).toBeGreaterThanOrEqual(1000 / 50)
    // At rest nothing polls.
    const atRest = s.reads()
    await vi.advanceTimersByTimeAsync(1000)
    expect(s.reads()).toBe(atRest)
    sub.unsubscribe()
  })

  it('at once for an event after a quiet spell', async () => {
    const s = standIn()
    const seen: number[] = []
    const sub = counts$(s.like).subscribe((c) => seen.push(c.succeeded))
    await vi.advanceTimersByTimeAsync(60)
    s.finish()
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([0, 1])
    expect(s.reads()).toBe(2)
    sub.unsubscribe()
  })

  it('one at a time: events during a slow read cause one more read, after it', async () => {
    let gate = deferred()
    let inFlight = 0
    let most = 0
    const s = standIn(async () => {
      most = Math.max(most, ++inFlight)
      await gate.promise
      inFlight--
    })
    const seen: number[] = []
    const sub = counts$(s.like).subscribe((c) => seen.push(c.succeeded))
    for (let i = 0; i < 10; i++) {
      s.finish()
      await vi.advanceTimersByTimeAsync(100)
    }
    expect(s.reads()).toBe(1)
    gate.resolve(undefined)
    gate = deferred()
    await vi.advanceTimersByTimeAsync(100)
    expect(s.reads()).toBe(2)
    gate.resolve(undefined)
    await vi.advanceTimersByTimeAsync(100)
    expect(most).toBe(1)
    expect(s.reads()).toBe(2)
    expect(seen.at(-1)).toBe(10)
    sub.unsubscribe()
  })

  it('leave no timer and no listener behind when unsubscribed inside a window', async () => {
    const s = standIn()
    const sub = counts$(s.like).subscribe(() => {})
    await vi.advanceTimersByTimeAsync(0)
    s.finish()
    await vi.advanceTimersByTimeAsync(0)
    expect(vi.getTimerCount()).toBe(1)
    sub.unsubscribe()
    expect(vi.getTimerCount()).toBe(0)
    expect(s.listeners()).toBe(0)
    await vi.advanceTimersByTimeAsync(100)
    expect(s.reads()).toBe(1)
  })
})
