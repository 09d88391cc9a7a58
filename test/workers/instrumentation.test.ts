import type { Worker } from 'node:worker_threads'
import { lastValueFrom } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError, job, type DispatchCall, type DispatchedJob, type Instrumentation, type QueueEvent } from '../../src/index.js'
import { job$ } from '../../src/observable/index.js'
import { withPrepare } from '../../src/core/job-spec.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import { tsWorker } from './fixtures/spawn.js'

const host = new URL('./fixtures/instrumented-host.ts', import.meta.url)

/** The "active context", set synchronously around `run`, as a tracer's context manager does. */
let active: string | undefined

/** An instrumentation of the calling side, recording what it saw and where. */
function recorder() {
  const calls: DispatchCall[] = []
  const jobs: Array<DispatchedJob & { context: string | undefined }> = []
  const instrumentation: Instrumentation = {
    async aroundDispatch(call, run) {
      calls.push(call)
      const outer = active
      active = `dispatch:${calls.length}`
      try {
        return await run()
      } finally {
        active = outer
      }
    },
    onDispatch(j) {
      jobs.push({ ...j, context: active })
      return { traceparent: `tp-${j.id}`, host: 'client' }
    },
  }
  return { instrumentation, calls, jobs }
}

describe('instrumentation of a client of a queue in a Node worker_thread', { timeout: 60_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient | undefined
  afterEach(async () => {
    await client?.close()
    await worker?.terminate()
    client = undefined
    worker = undefined
  })

  const open = (instrumentation?: Instrumentation[]): QueueClient => {
    worker = tsWorker(host)
    client = connectQueue(worker, instrumentation ? { instrumentation } : {})
    return client
  }

  it('runs onDispatch on the calling side, once per job, with the ids the worker stores; the host does not run its own', async () => {
    const r = recorder()
    const q = open([r.instrumentation])
    const pending = q.dispatch(job('meta', 1).meta({ userId: 'u1' }))
    // Synchronously, in the caller's context.
    expect(r.jobs).toMatchObject([{ type: 'meta', queue: 'default', meta: { userId: 'u1' }, context: 'dispatch:1' }])
    const { id } = await pending
    expect(r.jobs.map((j) => j.id)).toEqual([id])
    expect(r.calls).toEqual([{ kind: 'job', count: 1, queues: ['default'] }])
    const done = await lastValueFrom(job$(q, id))
    const meta = { traceparent: `tp-${id}`, host: 'client', userId: 'u1' }
    expect(done).toMatchObject({ state: 'succeeded', dispatchedBy: 'worker-2.0', processedBy: 'worker-2.0' })
    // Exactly the client's: the host's own instrumentation did not run.
    expect(done?.meta).toEqual(meta)
    expect(done?.result).toEqual(meta)
    expect((await q.listJobs({ version: 'worker-2.0' })).map((j) => j.id)).toEqual([id])
    expect(await q.listJobs({ version: 'other' })).toEqual([])
  })

  it('instruments chains, batches and dispatchMany on the calling side; callbacks inherit the shared metadata', async () => {
    const r = recorder()
    const q = open([r.instrumentation])
    const chainId = await q.chain(job('meta', 1), job('meta', 2)).onSuccess(job('meta', 'cb')).dispatch()
    const batchId = await q.batch(job('meta', 3).onQueue('default')).withId('b1').dispatch()
    const many = await q.dispatchMany([job('meta', 4), job('meta', 5)])
    expect(r.calls).toEqual([
      { kind: 'chain', id: chainId, count: 2, queues: ['default'] },
      { kind: 'batch', id: 'b1', count: 1, queues: ['default'] },
      { kind: 'jobs', count: 2, queues: ['default'] },
    ])
    expect(batchId).toBe('b1')
    const steps = (await q.findChain(chainId)).steps.map((s) => s.jobId)
    expect(r.jobs.map((j) => j.id)).toEqual([...steps, ...(await q.findBatch('b1')).jobIds, ...many.map((m) => m.id)])
    expect(r.jobs.map((j) => j.context)).toEqual(['dispatch:1', 'dispatch:1', 'dispatch:2', 'dispatch:3', 'dispatch:3'])
    await q.drain()
    const [callback] = (await q.listJobs({ type: 'meta' })).filter((j) => j.payload === 'cb')
    // The steps' traceparents differ; what they share is inherited.
    expect(callback?.meta).toEqual({ host: 'client' })
    for (const id of steps) expect((await q.getJob(id))?.meta).toEqual({ traceparent: `tp-${id}`, host: 'client' })
  })

  it('runs onDispatch before a payload made at dispatch is awaited', async () => {
    const r = recorder()
    const q = open([r.instrumentation])
    const spec = withPrepare(job<string, unknown>('meta', null), async () => {
      await new Promise((res) => setTimeout(res, 5))
      return 'made'
    })
    const pending = q.dispatch(spec)
    expect(r.jobs.map((j) => j.context)).toEqual(['dispatch:1'])
    const { id } = await pending
    expect(await q.getJob(id)).toMatchObject({ payload: 'made', meta: { traceparent: `tp-${id}` } })
  })

  it('leaves a dispatch from a client without instrumentation to the host’s', async () => {
    const q = open()
    const { id } = await q.dispatch(job('meta', 1).meta({ userId: 'u1' }))
    expect((await q.getJob(id))?.meta).toEqual({ hostSaw: 'yes', userId: 'u1' })
  })

  it('tells a fault of its instrumentation as queue:error on the client, and dispatches all the same', async () => {
    const q = open([
      {
        onDispatch: () => {
          throw new Error('broken on the page')
        },
      },
    ])
    const events: QueueEvent[] = []
    q.events.subscribe((e) => events.push(e))
    const { id } = await q.dispatch(job('meta', 1))
    expect(await q.getJob(id)).toMatchObject({ id })
    expect(events.filter((e) => e.kind === 'queue:error')).toMatchObject([{ error: { message: 'broken on the page' } }])
  })

  it('is checked before anything is connected', () => {
    expect(() => connectQueue({}, { instrumentation: [{ onDispatch: 1 }] as unknown as Instrumentation[] })).toThrow(InvalidArgumentError)
  })
})
