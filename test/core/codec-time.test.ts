import { describe, expect, it } from 'vitest'
import { createQueue, job, memoryStore, type Codec, type QueueEvent } from '../../src/index.js'
import { checkRecord, withCodec } from '../../src/core/codec.js'
import type { StoredJob } from '../../src/core/store.js'
import { newJob } from '../../src/testing/contract/harness.js'
import { until } from './codec-scenarios.js'

const never = new Promise<never>(() => undefined)

/** A JSON codec whose decode of a payload containing `word` never settles, the first `times` times. */
function stalling(word: string, times = Number.POSITIVE_INFINITY): Codec {
  let left = times
  return {
    encode: async (v) => JSON.stringify(v),
    decode: async (s) => {
      if ((s as string).includes(word) && left-- > 0) return never
      return JSON.parse(s as string) as unknown
    },
  }
}

describe('the time a claim gives its decodes', () => {
  it('is at most half of what the lease leaves, so the job is failed before its lease ends', async () => {
    const raw = memoryStore()
    // The codec's own limit is far beyond the lease: the lease decides.
    const store = withCodec(raw, stalling('slow'), 60_000)
    await raw.insert({ now: 1, jobs: [newJob({ id: 's', runAt: 0, payload: '"slow"', maxAttempts: 3 })] })
    const now = Date.now()
    const claim = { owner: 'o', token: 't1', queues: ['default'], types: ['t'], limit: 1, leaseUntil: now + 400 }
    const out = await store.settleAndClaim({ now, settle: [], claim })
    expect(out.claimed).toEqual([])
    // Failed by its own claim, not when the lease was gone: an attempt like any other, retried.
    const j = await raw.getJob('s')
    expect(j).toMatchObject({ state: 'delayed', attempt: 1, error: { name: 'SerializationError', code: 'CODEC_TIMEOUT' } })
    expect(j?.error?.code).not.toBe('LEASE_LOST')
  }, 5_000)

  it('lets a job whose first decode outlives the lease run once on a later attempt, with two engines sharing the store', async () => {
    const store = memoryStore()
    let slow = true
    const codec: Codec = {
      encode: async (v) => JSON.stringify(v),
      decode: async (s) => {
        if (slow) {
          slow = false
          await new Promise((r) => setTimeout(r, 3000))
        }
        return JSON.parse(s as string) as unknown
      },
    }
    const runs: string[] = []
    const failures: string[] = []
    const make = (name: string) => {
      const q = createQueue({ store: { ...store, close: async () => undefined }, codec, leaseMs: 1000 })
      q.register('t', async () => {
        runs.push(name)
        return name
      })
      q.events.subscribe((e: QueueEvent) => {
        // Both queues hear each event of the shared store: each failure is counted once.
        const seen = `${e.kind === 'job:failed' || e.kind === 'job:retrying' ? `${e.error.code ?? ''} ${e.error.message}` : ''}`
        if (seen && !failures.includes(seen)) failures.push(seen)
      })
      return q
    }
    const a = make('A')
    const b = make('B')
    try {
      const { id } = await a.dispatch(job('t', { x: 1 }).retry(3).backoff({ type: 'fixed', delay: 10 }))
      await a.start()
      await b.start()
      // Read as stored: a read through the queue would decode the payload too.
      const done = await until(async () => {
        const j = await store.getJob(id)
        return j?.state === 'succeeded' || j?.state === 'failed' ? j : undefined
      }, 'the job to end')
      expect(done.state).toBe('succeeded')
      expect(runs).toHaveLength(1)
      expect(failures.some((f) => f.includes('LEASE_LOST'))).toBe(false)
      // The slow decode failed its own attempt in time, while the lease was still held.
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatch(/^CODEC_TIMEOUT .*did not answer in time/)
      expect(done.attempt).toBe(2)
    } finally {
      await Promise.all([a.close({ timeoutMs: 100 }), b.close({ timeoutMs: 100 })])
    }
  }, 20_000)
})

describe('a decode that runs out of time', () => {
  it('is an ordinary failed attempt, retried, that speaks of the codec and not of the key', async () => {
    const raw = memoryStore()
    const store = withCodec(raw, stalling('slow', 1), 50)
    await raw.insert({ now: 1, jobs: [newJob({ id: 's', runAt: 0, payload: '"slow"', maxAttempts: 3, backoff: 1 })] })
    const claim = { owner: 'o', token: 't1', queues: ['default'], types: ['t'], limit: 1, leaseUntil: 1_000_000 }
    expect((await store.settleAndClaim({ now: 10, settle: [], claim })).claimed).toEqual([])
    const j = await raw.getJob('s')
    expect(j).toMatchObject({ state: 'delayed', attempt: 1, error: { name: 'SerializationError', code: 'CODEC_TIMEOUT' } })
    expect(j?.error?.message).toMatch(/the codec did not answer in time/)
    expect(j?.error?.message).not.toMatch(/key/)
    // Its next attempt decodes in time and runs.
    const again = await store.settleAndClaim({ now: 100, settle: [], claim: { ...claim, token: 't2' } })
    expect(again.claimed.map((c) => [c.id, c.payload, c.attempt])).toEqual([['s', 'slow', 2]])
  })

  it('ends the job on its last attempt, while a decode that throws stays unrecoverable', async () => {
    const raw = memoryStore()
    const codec: Codec = {
      encode: async (v) => JSON.stringify(v),
      decode: async (s) => {
        if ((s as string).includes('slow')) return never
        if ((s as string).includes('bad')) throw new Error('not mine')
        return JSON.parse(s as string) as unknown
      },
    }
    const store = withCodec(raw, codec, 50)
    await raw.insert({
      now: 1,
      jobs: [newJob({ id: 'last', runAt: 0, payload: '"slow"', maxAttempts: 1 }), newJob({ id: 'bad', runAt: 0, payload: '"bad"', maxAttempts: 3 })],
    })
    const claim = { owner: 'o', token: 't1', queues: ['default'], types: ['t'], limit: 2, leaseUntil: 1_000_000 }
    expect((await store.settleAndClaim({ now: 10, settle: [], claim })).claimed).toEqual([])
    expect(await raw.getJob('last')).toMatchObject({ state: 'failed', attempt: 1, error: { code: 'CODEC_TIMEOUT' } })
    const bad = await raw.getJob('bad')
    expect(bad).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'SerializationError', code: 'DECODE_FAILED' } })
    expect(bad?.error?.message).toMatch(/not mine/)
  })
})

describe('the record check of a job state', () => {
  it("marks a job whose state is not one of ferry's unreadable", () => {
    const j = { ...newJob({ id: 'b' }), seq: 1, state: 'bogus', attempt: 0, createdAt: 0 } as unknown as StoredJob
    expect(checkRecord(j).unreadable).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD', message: expect.stringMatching(/job b .*state/) as unknown })
    for (const state of ['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled'] as const) {
      const fine: StoredJob = { ...j, state }
      expect(checkRecord(fine)).toBe(fine)
    }
  })
})
