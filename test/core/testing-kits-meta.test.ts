import { describe, expect, it } from 'vitest'
import { job, type JobMeta } from '../../src/index.js'
import { createFakeQueue, createTestQueue } from '../../src/testing/index.js'

describe('the fake queue and job metadata', () => {
  it('records the metadata of every job it is asked to dispatch', async () => {
    const q = createFakeQueue()
    await q.dispatch(job('email:send', { to: 'a' }).meta({ userId: 'u1' }))
    await q.dispatchMany([job('email:send', { to: 'b' }).meta({ userId: 'u2' }), job('email:send', { to: 'c' })])
    expect(q.recorded.jobs.map((j) => j.meta)).toEqual([{ userId: 'u1' }, { userId: 'u2' }, undefined])
    q.assertDispatched('email:send', (_p, j) => j.meta?.userId === 'u2')
    expect(() => q.assertDispatched('email:send', (_p, j) => j.meta?.userId === 'u3')).toThrow(/expected/)
  })

  it("gives a chain's and a batch's callbacks the metadata their jobs share, under their own, as the queue does", async () => {
    const q = createFakeQueue()
    await q
      .chain(job('a', 1).meta({ userId: 'u1', step: 1 }), job('b', 2).meta({ userId: 'u1', step: 2 }))
      .onSuccess(job('done', 0).meta({ step: 'cb' }))
      .onError(job('failed', 0))
      .dispatch()
    await q.batch(job('a', 1).meta({ tenant: 't' }), job('a', 2).meta({ tenant: 't' })).onSettled(job('done', 0)).dispatch()
    const [chain] = q.recorded.chains
    expect(chain?.jobs.map((j) => j.meta)).toEqual([
      { userId: 'u1', step: 1 },
      { userId: 'u1', step: 2 },
    ])
    expect(chain?.onSuccess?.meta).toEqual({ userId: 'u1', step: 'cb' })
    expect(chain?.onError?.meta).toEqual({ userId: 'u1' })
    expect(q.recorded.batches[0]?.onSettled?.meta).toEqual({ tenant: 't' })
  })
})

describe('the test queue', () => {
  it('passes version, order and instrumentation to its engine', async () => {
    const seen: string[] = []
    const q = createTestQueue({
      version: '3.1.0',
      order: 'runAt',
      startAt: 1_000_000,
      instrumentation: [
        {
          onDispatch: (j) => ({ traceparent: `tp-${j.id}` }),
          middleware: async (ctx, next) => {
            seen.push(ctx.id)
            return next()
          },
        },
      ],
    })
    const metas: Array<JobMeta | undefined> = []
    q.register('t', (_p, ctx) => void metas.push(ctx.meta))
    await q.stop()
    const [late, early] = await q.dispatchMany([job('t', 'late').priority(9), job('t', 'early').runAt(900_000)])
    await q.start()
    await q.runUntilIdle()
    expect(seen).toEqual([early?.id, late?.id])
    expect(metas).toEqual([{ traceparent: `tp-${early?.id}` }, { traceparent: `tp-${late?.id}` }])
    expect(await q.getJob(late?.id ?? '')).toMatchObject({ dispatchedBy: '3.1.0', processedBy: '3.1.0' })
    await q.close()
  })
})
