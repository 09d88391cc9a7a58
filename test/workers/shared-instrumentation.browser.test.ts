import { afterEach, describe, expect, it } from 'vitest'
import { job, type DispatchedJob, type Instrumentation } from '../../src/index.js'
import { shareQueue, type SharedQueue } from '../../src/workers/index.js'
import type { Jobs } from './fixtures/jobs.js'

// Tabs elect a host and its worker starts in seconds on a busy machine.
describe('instrumentation of a tab of a queue shared by the tabs of an origin', { timeout: 30_000 }, () => {
  const opened: SharedQueue<Jobs>[] = []
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close()
  })
  const share = (name: string, instrumentation?: Instrumentation[]): SharedQueue<Jobs> => {
    const script = new URL('../browser/fixtures/queue.worker.ts', import.meta.url)
    const q = shareQueue<Jobs>({ name, worker: () => new Worker(script, { type: 'module' }), ...(instrumentation ? { instrumentation } : {}) })
    opened.push(q)
    return q
  }

  it('runs in the calling tab, synchronously, with the ids the host stores, and its metadata is kept', async () => {
    const name = `instrumented-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 20_000 }).toBe(true)
    const seen: DispatchedJob[] = []
    const other = share(name, [{ onDispatch: (j) => (seen.push(j), { traceparent: `tp-${j.id}` }) }])
    expect(other.isHost).toBe(false)
    const pending = other.dispatch(job('add', { a: 1, b: 2 }).meta({ userId: 'u1' }))
    expect(seen).toHaveLength(1)
    const { id } = await pending
    expect(seen[0]).toMatchObject({ id, type: 'add', queue: 'default', meta: { userId: 'u1' } })
    expect((await host.getJob(id))?.meta).toEqual({ traceparent: `tp-${id}`, userId: 'u1' })
    const chainId = await other.chain(job('add', { a: 1, b: 1 }), job('add', { a: 2, b: 2 })).dispatch()
    const steps = (await host.findChain(chainId)).steps.map((s) => s.jobId)
    expect(seen.slice(1).map((j) => j.id)).toEqual(steps)
  })
})
