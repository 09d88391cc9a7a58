import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, job, type JobContext, type JobMeta } from '../../src/index.js'
import { specFromOptions, withPrepare } from '../../src/core/job-spec.js'
import { harness, settle } from '../helpers.js'

describe('job metadata', () => {
  it('is kept on the record and given to the handler as ctx.meta', async () => {
    const { queue } = harness()
    const seen: Array<JobMeta | undefined> = []
    queue.register('t', (_p, ctx) => void seen.push(ctx.meta))
    const { id } = await queue.dispatch(job('t', 1).meta({ userId: 'u1' }).meta({ n: 2, ok: true }))
    const [plain] = await queue.dispatchMany([job('t', 2)])
    expect((await queue.getJob(id))?.meta).toEqual({ userId: 'u1', n: 2, ok: true })
    expect((await queue.getJob(plain?.id ?? ''))?.meta).toBeUndefined()
    await queue.drain()
    expect(seen).toEqual([{ userId: 'u1', n: 2, ok: true }, undefined])
    expect((await queue.listJobs({ state: 'succeeded' })).map((j) => j.meta)).toEqual([{ userId: 'u1', n: 2, ok: true }, undefined])
    await queue.close()
  })

  it('is kept by a spec whose payload is made at dispatch', async () => {
    const { queue } = harness()
    const spec = withPrepare(job<string, unknown>('t', null).meta({ requestId: 'r1' }), async () => 'made')
    const { id } = await queue.dispatch(spec)
    expect(await queue.getJob(id)).toMatchObject({ payload: 'made', meta: { requestId: 'r1' } })
    await queue.close()
  })

  it("is inherited by a chain's callbacks: what every step shares, under the callback's own", async () => {
    const { queue } = harness()
    const metas: Record<string, JobMeta | undefined> = {}
    queue.register('step', () => 'ok')
    queue.register('cb', (p, ctx: JobContext) => void (metas[p as string] = ctx.meta))
    await queue
      .chain(job('step', 1).meta({ userId: 'u1', tenant: 't1', step: 'a' }), job('step', 2).meta({ userId: 'u1', tenant: 't2', step: 'b' }))
      .onSuccess(job('cb', 'success').meta({ step: 'callback', userId: 'mine' }))
      .onSettled(job('cb', 'settled'))
      .dispatch()
    await queue.drain()
    expect(metas).toEqual({ success: { userId: 'mine', step: 'callback' }, settled: { userId: 'u1' } })
    const callbacks = await queue.listJobs({ type: 'cb' })
    expect(callbacks.map((j) => j.meta)).toEqual([{ userId: 'mine', step: 'callback' }, { userId: 'u1' }])
    await queue.close()
  })

  it("is inherited by a batch's callbacks; none when the members share nothing", async () => {
    const { queue } = harness()
    const metas: Record<string, JobMeta | undefined> = {}
    queue.register('member', (p) => {
      if (p === 'bad') throw new Error('no')
    })
    queue.register('cb', (p, ctx: JobContext) => void (metas[p as string] = ctx.meta))
    await queue
      .batch(job('member', 1).meta({ userId: 'u1', n: 1 }), job('member', 'bad').retry(0).meta({ userId: 'u1', n: 2 }))
      .allowFailures()
      .onProgress(job('cb', 'progress'))
      .onError(job('cb', 'error').meta({ alert: true }))
      .onSettled(job('cb', 'settled'))
      .dispatch()
    await queue
      .batch(job('member', 3).meta({ a: 'x' }), job('member', 4))
      .onSuccess(job('cb', 'other'))
      .dispatch()
    await queue.drain()
    expect(metas).toEqual({
      progress: { userId: 'u1' },
      error: { userId: 'u1', alert: true },
      settled: { userId: 'u1' },
      other: undefined,
    })
    await queue.close()
  })

  it("is carried by each job a schedule enqueues, from the spec given to schedule()", async () => {
    const { queue, clock } = harness()
    const seen: Array<JobMeta | undefined> = []
    queue.register('t', (_p, ctx) => void seen.push(ctx.meta))
    await queue.schedule('tick', { every: 1000 }, job('t', 1).meta({ source: 'cron' }))
    await queue.start()
    for (let i = 0; i < 2; i++) {
      clock.advance(1000)
      await settle()
    }
    expect(seen).toEqual([{ source: 'cron' }, { source: 'cron' }])
    await queue.close()
  })

  it('is checked when set: a typed error, and nothing is written', async () => {
    const { queue } = harness()
    const bad: unknown[] = [
      null,
      [],
      'x',
      new Map(),
      { a: null },
      { a: { nested: 1 } },
      { a: Number.NaN },
      { a: Infinity },
      { a: undefined },
      { a: 'x'.repeat(5000) },
      { '': 'x' },
      { a: '\uD800' },
      Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i])),
    ]
    for (const m of bad) expect(() => job('t', 1).meta(m as JobMeta), JSON.stringify(m)).toThrow(InvalidArgumentError)
    // As a worker or a tab sends it: checked as the builder checks it.
    expect(() => specFromOptions({ type: 't', payload: 1, meta: { b: null } as unknown as JobMeta })).toThrow(InvalidArgumentError)
    expect(await queue.listJobs()).toEqual([])
    await queue.close()
  })

  it('gives the handler a copy: changing ctx.meta changes no record', async () => {
    const { queue } = harness()
    queue.register('t', (_p, ctx) => {
      if (ctx.meta) ctx.meta.userId = 'changed'
    })
    const { id } = await queue.dispatch(job('t', 1).meta({ userId: 'u1' }))
    await queue.drain()
    await settle()
    expect((await queue.getJob(id))?.meta).toEqual({ userId: 'u1' })
    await queue.close()
  })
})
