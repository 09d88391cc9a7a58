import { describe, expect, it } from 'vitest'
import { memoryStore } from '../../src/core/memory-store.js'
import type { ClaimOrder, NewJob, Store, StoredJob } from '../../src/core/store.js'

let n = 0
const newJob = (o: Partial<NewJob> = {}): NewJob => ({
  id: `job-${++n}`,
  type: 't',
  queue: 'default',
  payload: null,
  priority: 0,
  maxAttempts: 5,
  backoff: 100,
  runAt: 0,
  ...o,
})

/** A small seeded generator: the same run every time. */
function random(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const QUEUES = ['a', 'b']
const TYPES = ['x', 'y', 'z']

/** The waiting jobs of the scope in `order`, from a listing: what a claim must take first. */
async function expected(store: Store, now: number, order: ClaimOrder, queues: string[], types: string[]): Promise<string[]> {
  const waiting = (await store.listJobs({ state: 'waiting', limit: 100_000 }, now)).filter((j) => queues.includes(j.queue) && types.includes(j.type))
  const cmp =
    order === 'runAt'
      ? (a: StoredJob, b: StoredJob) => a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq
      : (a: StoredJob, b: StoredJob) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq
  return waiting.sort(cmp).map((j) => j.id)
}

describe('memoryStore claim orders', () => {
  it('claims in either order as a sort of the waiting jobs says, through inserts, retries, releases, cancels and a rolled-back insert', async () => {
    const store = memoryStore()
    const rnd = random(7)
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T
    const held: StoredJob[] = []
    let now = 1000
    let claims = 0
    for (let step = 0; step < 400; step++) {
      now += Math.floor(rnd() * 20)
      const r = rnd()
      if (r < 0.4) {
        const jobs = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () =>
          newJob({ queue: pick(QUEUES), type: pick(TYPES), priority: Math.floor(rnd() * 3) - 1, runAt: now + Math.floor(rnd() * 200) - 100 }),
        )
        await store.insert({ now, jobs })
      } else if (r < 0.45) {
        // Rolled back whole: the second payload cannot be stored.
        const err = await store.insert({ now, jobs: [newJob({ queue: pick(QUEUES), type: pick(TYPES) }), newJob({ payload: () => 1 })] }).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(Error)
      } else if (r < 0.8) {
        const order: ClaimOrder = rnd() < 0.5 ? 'runAt' : 'priority'
        const queues = rnd() < 0.5 ? QUEUES : [pick(QUEUES)]
        const types = rnd() < 0.5 ? TYPES : [pick(TYPES)]
        const limit = 1 + Math.floor(rnd() * 3)
        const ahead = Math.floor(rnd() * 2)
        // Delayed jobs that came due move to waiting first, in this same call: a tick does that alone.
        await store.settleAndClaim({ now, settle: [], tick: { queues } })
        const want = (await expected(store, now, order, queues, types)).slice(0, limit + ahead)
        const out = await store.settleAndClaim({ now, settle: [], claim: { owner: 'e', token: `tok-${step}`, queues, types, limit, ahead, leaseUntil: now + 1_000_000, order } })
        expect(out.claimed.map((j) => j.id), `claim ${claims++} (${order})`).toEqual(want)
        held.push(...out.claimed)
      } else if (held.length > 0) {
        const j = held.splice(Math.floor(rnd() * held.length), 1)[0] as StoredJob
        const token = j.lease?.token ?? ''
        const o = rnd()
        if (o < 0.3) await store.settleAndClaim({ now, settle: [{ id: j.id, token, outcome: { kind: 'succeeded' } }] })
        else if (o < 0.6) await store.settleAndClaim({ now, settle: [{ id: j.id, token, outcome: { kind: 'failed', error: { name: 'Error', message: 'x' } } }] })
        else if (o < 0.8) await store.settleAndClaim({ now, settle: [{ id: j.id, token, outcome: { kind: 'deferred', runAt: now + Math.floor(rnd() * 50) - 25 } }] })
        else {
          await store.cancel({ now, jobIds: [j.id] })
          await store.settleAndClaim({ now, settle: [{ id: j.id, token, outcome: { kind: 'succeeded' } }] })
        }
      }
    }
    expect(claims).toBeGreaterThan(100)
    await store.close()
  })
})
