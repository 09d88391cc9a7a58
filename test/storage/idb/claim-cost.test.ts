/**
 * The claim reads by index only what it may take: however many finished and delayed jobs the
 * database holds, a claim reads about as many records as it claims.
 */
import 'fake-indexeddb/auto'
import { deleteDB } from 'idb'
import { afterEach, expect, it, vi } from 'vitest'
import type { NewJob } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const name = `claim-cost-${Date.now()}`
afterEach(async () => {
  vi.restoreAllMocks()
  await deleteDB(name)
})

const newJob = (id: string, o: Partial<NewJob> = {}): NewJob => ({ id, type: 't', queue: 'default', payload: id, priority: 0, maxAttempts: 1, backoff: 0, runAt: 1000, ...o })

/** Counts the records every getAll and cursor step hands back, on stores and indexes. */
function countReads(): { records: number; cursorSteps: number } {
  const seen = { records: 0, cursorSteps: 0 }
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype]) {
    const getAll = proto.getAll
    vi.spyOn(proto, 'getAll').mockImplementation(function (this: IDBObjectStore | IDBIndex, ...args: Parameters<IDBIndex['getAll']>) {
      const req = getAll.apply(this, args)
      req.addEventListener('success', () => (seen.records += req.result.length))
      return req
    })
    vi.spyOn(proto, 'openCursor').mockImplementation(() => {
      seen.cursorSteps++
      throw new Error('a claim opens no cursor')
    })
  }
  return seen
}

it('reads no finished or delayed job to claim, however many there are', async () => {
  const store = idbStore({ name })
  const now = 1000
  const finished = Array.from({ length: 500 }, (_, i) => newJob(`done-${i}`, { type: 'old' }))
  await store.insert({ now, jobs: finished })
  const out = await store.settleAndClaim({ now, settle: [], claim: { owner: 'o', token: 'k', queues: ['default'], types: ['old'], limit: 500, leaseUntil: now + 60_000 } })
  await store.settleAndClaim({ now, settle: out.claimed.map((j) => ({ id: j.id, token: 'k', outcome: { kind: 'succeeded' as const } })) })
  await store.insert({ now, jobs: Array.from({ length: 500 }, (_, i) => newJob(`later-${i}`, { runAt: now + 86_400_000 })) })
  await store.insert({ now, jobs: Array.from({ length: 5 }, (_, i) => newJob(`ready-${i}`, { priority: i })) })
  expect(await store.counts(now)).toMatchObject({ succeeded: 500, delayed: 500, waiting: 5 })

  const reads = countReads()
  const claim = await store.settleAndClaim({ now, settle: [], claim: { owner: 'o', token: 'c', queues: ['default'], types: ['t', 'old'], limit: 10, leaseUntil: now + 60_000 } })
  expect(claim.claimed.map((j) => j.id)).toEqual(['ready-4', 'ready-3', 'ready-2', 'ready-1', 'ready-0'])
  // The 5 ready jobs it took; with room left, for the next wake-up time, the first delayed
  // job and the first lease to end (of the jobs it just took).
  expect(reads).toEqual({ records: 7, cursorSteps: 0 })
  expect(claim.nextWakeAt).toBe(now + 60_000)
  await store.close()
})
