import { afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/core/errors.js'
import { job } from '../../src/core/job-spec.js'
import { memoryStore } from '../../src/core/memory-store.js'
import { storeBackend } from '../../src/core/define-store.js'
import type { StoreBackend } from '../../src/core/store-backend.js'
import { checkRetention, retentionDefaults } from '../../src/core/retention.js'
import { RETAIN_EVERY, RETAIN_LIMIT } from '../../src/core/runner.js'
import type { SettleAndClaimInput, SettleAndClaimOutcome, Store } from '../../src/core/store.js'
import { createTestQueue, type TestQueue } from '../../src/testing/test-queue.js'

type Jobs = { t: { n: number } }

/** The store, with every settleAndClaim it was asked and what it answered. */
function spied(store: Store = memoryStore()): { store: Store; calls: SettleAndClaimInput[]; outs: SettleAndClaimOutcome[] } {
  const calls: SettleAndClaimInput[] = []
  const outs: SettleAndClaimOutcome[] = []
  return {
    calls,
    outs,
    store: {
      ...store,
      settleAndClaim: async (input) => {
        calls.push(input)
        const out = await store.settleAndClaim(input)
        outs.push(out)
        return out
      },
    },
  }
}

const queues: TestQueue<Jobs>[] = []
function queue(o: Parameters<typeof createTestQueue<Jobs>>[0]): TestQueue<Jobs> {
  const q = createTestQueue<Jobs>({ startAt: 1_000_000, ...o })
  queues.push(q)
  return q
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()))
})

async function succeeded(q: TestQueue<Jobs>): Promise<number[]> {
  const list = await q.listJobs({ state: 'succeeded', limit: 10_000 })
  return list.map((j) => (j.payload as { n: number }).n).sort((a, b) => a - b)
}

describe('checkRetention', () => {
  it('takes known finished states with a whole count >= 0 and/or a finite ageMs > 0', () => {
    expect(checkRetention(undefined)).toBeUndefined()
    expect(checkRetention({ succeeded: { count: 0 }, failed: { ageMs: 1 }, cancelled: { count: 3, ageMs: 60_000 } })).toEqual({
      succeeded: { count: 0 },
      failed: { ageMs: 1 },
      cancelled: { count: 3, ageMs: 60_000 },
    })
    expect(checkRetention(retentionDefaults.browser)).toEqual(retentionDefaults.browser)
    expect(checkRetention(retentionDefaults.node)).toEqual(retentionDefaults.node)
  })

  it.each([
    ['null', null],
    ['an array', []],
    ['a number', 5],
    ['an unknown state', { waiting: { count: 1 } }],
    ['a Keep that is not an object', { succeeded: 10 }],
    ['an empty Keep', { succeeded: {} }],
    ['an unknown key', { succeeded: { count: 1, max: 2 } }],
    ['a negative count', { succeeded: { count: -1 } }],
    ['a fractional count', { succeeded: { count: 1.5 } }],
    ['a count that is a string', { succeeded: { count: '10' } }],
    ['an ageMs of 0', { failed: { ageMs: 0 } }],
    ['an infinite ageMs', { failed: { ageMs: Infinity } }],
    ['a NaN ageMs', { failed: { ageMs: NaN } }],
  ])('refuses %s with InvalidArgumentError', (_, value) => {
    expect(() => checkRetention(value)).toThrow(InvalidArgumentError)
  })

  it('is checked by createQueue', () => {
    expect(() => queue({ retention: { succeeded: { count: -1 } } })).toThrow(InvalidArgumentError)
  })
})

describe('retention in the engine', () => {
  it('keeps the newest count of succeeded jobs while the engine works', async () => {
    const q = queue({ retention: { succeeded: { count: 5 } } })
    q.register('t', async () => undefined)
    for (let n = 0; n < 40; n++) {
      await q.dispatch(job('t', { n }))
      await q.runUntilIdle()
      await q.advance(1000)
    }
    expect(await succeeded(q)).toEqual([35, 36, 37, 38, 39])
  })

  it('with a backlog, slices every RETAIN_EVERY settled jobs, not every call, and ends with exactly what it keeps', async () => {
    const s = spied()
    const q = queue({ store: s.store, concurrency: 4, retention: { succeeded: { count: 5 } } })
    q.register('t', async () => undefined)
    await q.dispatchMany(Array.from({ length: 20 * RETAIN_EVERY }, (_, n) => job('t', { n })))
    await q.runUntilIdle()
    const settling = s.calls.filter((c) => c.settle.length > 0)
    const slicing = s.calls.filter((c) => c.retain !== undefined)
    // One at start, one per RETAIN_EVERY settled at most, one when the queue ran dry, and those
    // that go on after it: the test clock stands still, and a slice deletes only jobs finished
    // before its call, so what finished in the last millisecond goes after the queue ran dry.
    expect(slicing.length).toBeLessThanOrEqual(20 + 2 + Math.ceil((20 * RETAIN_EVERY) / RETAIN_LIMIT))
    expect(slicing.length).toBeLessThan(settling.length + Math.ceil((20 * RETAIN_EVERY) / RETAIN_LIMIT))
    expect(await succeeded(q)).toEqual([995, 996, 997, 998, 999])
  })

  it('deletes the jobs older than ageMs at the next work', async () => {
    const q = queue({ retention: { succeeded: { ageMs: 60_000 } } })
    q.register('t', async () => undefined)
    await q.dispatchMany([job('t', { n: 1 }), job('t', { n: 2 })])
    await q.runUntilIdle()
    await q.advance(30_000)
    await q.dispatch(job('t', { n: 3 }))
    await q.runUntilIdle()
    expect(await succeeded(q)).toEqual([1, 2, 3])
    await q.advance(31_000)
    await q.dispatch(job('t', { n: 4 }))
    await q.runUntilIdle()
    expect(await succeeded(q)).toEqual([3, 4])
  })

  it('keeps an idle engine idle: no wake-up, no store call; an age passed meanwhile is applied with the next work', async () => {
    const s = spied()
    const q = queue({ store: s.store, retention: { succeeded: { ageMs: 60_000 } } })
    q.register('t', async () => undefined)
    await q.dispatchMany([job('t', { n: 1 }), job('t', { n: 2 })])
    await q.runUntilIdle()
    const calls = s.calls.length
    expect(q.clock.pending).toBe(0)
    await q.advance(24 * 60 * 60 * 1000)
    expect(s.calls.length).toBe(calls)
    expect(q.clock.pending).toBe(0)
    expect(await succeeded(q)).toEqual([1, 2])
    await q.dispatch(job('t', { n: 3 }))
    await q.runUntilIdle()
    expect(await succeeded(q)).toEqual([3])
    expect(s.calls.slice(calls).some((c) => c.retain !== undefined)).toBe(true)
  })

  it('removes a large backlog over several turns, each bounded, and then stops', async () => {
    const store = memoryStore()
    const plain = queue({ store })
    plain.register('t', async () => undefined)
    await plain.dispatchMany(Array.from({ length: 3 * RETAIN_LIMIT + 50 }, (_, n) => job('t', { n })))
    await plain.runUntilIdle()
    await plain.stop()
    const s = spied(store)
    const q = queue({ store: s.store, startAt: 1_000_001, retention: { succeeded: { count: 10 } } })
    // Nothing to run: the engine's first claim carries the first slice.
    q.register('t', async () => undefined)
    await q.runUntilIdle()
    const slices = s.outs.flatMap((o) => (o.retained ? [o.retained] : []))
    expect(slices).toEqual([
      { deleted: RETAIN_LIMIT, more: true },
      { deleted: RETAIN_LIMIT, more: true },
      { deleted: RETAIN_LIMIT, more: true },
      { deleted: 40, more: false },
    ])
    for (const c of s.calls) expect(c.retain?.limit ?? 0).toBeLessThanOrEqual(RETAIN_LIMIT)
    expect((await q.counts()).succeeded).toBe(10)
    const calls = s.calls.length
    await q.advance(60_000)
    expect(s.calls.length).toBe(calls)
  })

  it.each([
    [1, 1],
    [2, 1],
    [30, 1],
    [30, 4],
  ])('brings %i finished jobs back to exactly count once the queue runs dry (concurrency %i), and then stays idle', async (n, concurrency) => {
    const s = spied()
    const q = queue({ store: s.store, concurrency, retention: { succeeded: { count: 0 } } })
    q.register('t', async () => undefined)
    await q.dispatchMany(Array.from({ length: n }, (_, i) => job('t', { n: i })))
    await q.runUntilIdle()
    expect(await succeeded(q)).toEqual([])
    const calls = s.calls.length
    await q.advance(60_000)
    expect(s.calls.slice(calls).filter((c) => c.retain !== undefined)).toEqual([])
  })

  it("deletes the finished jobs of the engine's own queues only", async () => {
    const store = memoryStore()
    const audit = queue({ store, queues: ['audit'] })
    audit.register('t', async () => undefined)
    await audit.dispatchMany(Array.from({ length: 10 }, (_, n) => job('t', { n }).onQueue('audit')))
    await audit.runUntilIdle()
    await audit.stop()
    const emails = queue({ store, queues: ['emails'], startAt: 1_000_001, retention: { succeeded: { count: 0 } } })
    emails.register('t', async () => undefined)
    await emails.dispatch(job('t', { n: 99 }).onQueue('emails'))
    await emails.runUntilIdle()
    expect(await succeeded(emails)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('keeps a job while its unique key holds: uniqueFor still turns a duplicate away', async () => {
    const q = queue({ retention: retentionDefaults.browser })
    let ran = 0
    q.register('t', async (p) => {
      if (p.n === 42) ran++
    })
    await q.dispatch(job('t', { n: 42 }).uniqueFor(3_600_000))
    await q.runUntilIdle()
    await q.advance(60_000)
    await q.dispatchMany(Array.from({ length: 150 }, (_, n) => job('t', { n: 1000 + n })))
    await q.runUntilIdle()
    await q.advance(60_000)
    expect((await q.dispatch(job('t', { n: 42 }).uniqueFor(3_600_000))).duplicate).toBe(true)
    await q.runUntilIdle()
    expect(ran).toBe(1)
  })

  it('keeps everything by default', async () => {
    const s = spied()
    const q = queue({ store: s.store })
    q.register('t', async () => undefined)
    await q.dispatchMany(Array.from({ length: 20 }, (_, n) => job('t', { n })))
    await q.runUntilIdle()
    expect((await succeeded(q)).length).toBe(20)
    expect(s.calls.every((c) => c.retain === undefined)).toBe(true)
  })

  it('deletes a failed batch and a failed chain larger than a slice whole, over several slices', async () => {
    const q = queue({ retention: { failed: { count: 0 } } })
    q.register('t', async ({ n }) => {
      if (n === 0 || n === 1010) throw new Error('boom')
    })
    const size = RETAIN_LIMIT + 50
    const batch = await q.batch(...Array.from({ length: size }, (_, n) => job('t', { n }).retry(0))).allowFailures().dispatch()
    const chain = await q.chain(...Array.from({ length: size }, (_, n) => job('t', { n: 1000 + n }).retry(0))).dispatch()
    await q.runUntilIdle()
    await q.advance(1000)
    await q.dispatch(job('t', { n: 5000 }))
    await q.runUntilIdle()
    await expect(q.findBatch(batch)).rejects.toThrow(/no batch/)
    await expect(q.findChain(chain)).rejects.toThrow(/no chain/)
    expect(await q.counts()).toMatchObject({ succeeded: 1, failed: 0, cancelled: 0 })
  })
})

describe("the memory store's index of finished jobs", () => {
  it('reads in finish order from either end through deletes at the oldest end, in the middle and past the newest kept', async () => {
    const store = memoryStore()
    const backend = storeBackend(store) as StoreBackend
    let seed = 7
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647
    const ids = Array.from({ length: 3000 }, (_, i) => `j${i}`)
    await store.insert({ now: 0, jobs: ids.map((id) => ({ id, type: 't', queue: 'default', payload: null, priority: 0, maxAttempts: 1, backoff: 0, runAt: 0 })) })
    const claimed = (await store.settleAndClaim({ now: 0, settle: [], claim: { owner: 'o', token: 'k', queues: ['default'], types: ['t'], limit: 3000, leaseUntil: 1e9 } })).claimed
    // Finished mostly in time order, some late and some tied.
    for (const [i, j] of claimed.entries()) {
      const at = random() < 0.1 ? Math.floor(random() * i) : i
      await store.settleAndClaim({ now: at, settle: [{ id: j.id, token: 'k', outcome: { kind: 'succeeded' } }] })
    }
    await store.prune({ before: 1200 })
    await store.settleAndClaim({ now: 5000, settle: [], retain: { keep: { succeeded: { count: 700 } }, queues: ['default'], limit: 250 } })
    const left = await store.listJobs({ state: 'succeeded', limit: 10_000 }, 0)
    const model = left.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0) || a.seq - b.seq).map((j) => j.id)
    const [oldest, newest, page] = await backend.read((tx) =>
      Promise.all([
        tx.finished('default', 'succeeded', { limit: 10_000 }),
        tx.finished('default', 'succeeded', { newest: true, limit: 10_000 }),
        tx.finished('default', 'succeeded', { before: 2000, offset: 10, limit: 50 }),
      ]),
    )
    expect(oldest.map((j) => j.id)).toEqual(model)
    expect(newest.map((j) => j.id)).toEqual([...model].reverse())
    expect(page.map((j) => j.id)).toEqual(left.filter((j) => (j.finishedAt ?? 0) < 2000).map((j) => j.id).slice(10, 60))
  })
})
