import { describe, expect, it } from 'vitest'
import { storeBackend } from '../../src/core/define-store.js'
import { memoryStore } from '../../src/core/memory-store.js'
import type { NewJob, Store } from '../../src/core/store.js'

const T0 = 1000
let n = 0
const newJob = (o: Partial<NewJob> = {}): NewJob => ({
  id: `job-${++n}`,
  type: 't',
  queue: 'default',
  payload: { n },
  priority: 0,
  maxAttempts: 3,
  backoff: { type: 'exponential', base: 1000 },
  runAt: T0,
  ...o,
})
const claim = (store: Store, now: number) =>
  store.settleAndClaim({ now, settle: [], claim: { owner: 'e', token: `tok-${++n}`, queues: ['default'], types: ['t'], limit: 10, leaseUntil: now + 30_000 } })

describe('memoryStore keeps what it stores apart from its callers', () => {
  it('is not changed through a payload it was given or a record it returned', async () => {
    const store = memoryStore()
    const payload = { list: [1, 2], nested: { a: 1 } }
    const j = newJob({ payload })
    await store.insert({ now: T0, jobs: [j] })
    payload.list.push(3)
    payload.nested.a = 2
    const got = await store.getJob(j.id)
    if (!got) throw new Error('missing')
    ;(got.payload as typeof payload).list.push(4)
    ;(got.backoff as { base: number }).base = 5
    got.state = 'failed'
    const [claimed] = (await claim(store, T0)).claimed
    if (!claimed?.lease) throw new Error('nothing claimed')
    ;(claimed.payload as typeof payload).nested.a = 9
    claimed.lease.until = 0
    const stored = await store.getJob(j.id)
    expect(stored).toMatchObject({ state: 'active', payload: { list: [1, 2], nested: { a: 1 } }, backoff: { base: 1000 } })
    expect(stored?.lease?.until).toBe(T0 + 30_000)
    await store.close()
  })

  it('is not changed through a result, or the member list of a batch event', async () => {
    const store = memoryStore()
    const batch = { id: 'b', allowFailures: false, callbacks: {}, jobs: [newJob(), newJob()] }
    await store.insert({ now: T0, jobs: [], batches: [batch] })
    const [first] = (await claim(store, T0)).claimed
    if (!first?.lease) throw new Error('nothing claimed')
    const result = { ok: true }
    const out = await store.settleAndClaim({ now: T0, settle: [{ id: first.id, token: first.lease.token, outcome: { kind: 'succeeded', result } }] })
    result.ok = false
    const progressed = out.events.find((e) => e.kind === 'batch:progressed')
    if (progressed?.kind !== 'batch:progressed') throw new Error('no batch:progressed')
    progressed.state.jobIds.length = 0
    expect((await store.getJob(first.id))?.result).toEqual({ ok: true })
    expect((await store.getBatch('b'))?.jobIds).toEqual(batch.jobs.map((j) => j.id))
    await store.close()
  })

  it('keeps primitive payloads and results as they are', async () => {
    const store = memoryStore()
    const jobs = [newJob({ payload: undefined }), newJob({ payload: 'text' }), newJob({ payload: 42 }), newJob({ payload: null })]
    await store.insert({ now: T0, jobs })
    const stored = await Promise.all(jobs.map((j) => store.getJob(j.id)))
    expect(stored.map((j) => j?.payload)).toEqual([undefined, 'text', 42, null])
    await store.close()
  })

  it('leaves nothing of a write that throws, its sequence numbers included', async () => {
    const store = memoryStore()
    const kept = newJob()
    await store.insert({ now: T0, jobs: [kept] })
    const backend = storeBackend(store)
    if (!backend) throw new Error('no backend')
    const keptSeq = (await store.getJob(kept.id))?.seq ?? 0
    await expect(
      backend.write(async (tx) => {
        const seq = await tx.nextSeq(5)
        await tx.putJob({ ...(await tx.getJob(kept.id))!, state: 'cancelled', finishedAt: T0 })
        await tx.putJob({ ...(await tx.getJob(kept.id))!, id: 'new', seq, batchId: 'b' })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await store.listJobs({}, T0)).toEqual([expect.objectContaining({ id: kept.id, state: 'waiting' })])
    expect(await backend.read((tx) => tx.batchJobIds('b'))).toEqual([])
    expect(await store.counts(T0)).toMatchObject({ waiting: 1, cancelled: 0 })
    const next = newJob()
    await store.insert({ now: T0, jobs: [next] })
    expect((await store.getJob(next.id))?.seq).toBe(keptSeq + 1)
    await store.close()
  })
})
