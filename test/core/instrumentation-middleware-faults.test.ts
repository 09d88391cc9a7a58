import { describe, expect, it } from 'vitest'
import { job, type Middleware } from '../../src/index.js'
import { advance, harness, settle } from '../helpers.js'

/**
 * A queue whose instrumentation has this middleware, a handler of type `t` that counts its runs,
 * and one job of it with a retry left: an attempt failed by the middleware would run it again.
 */
async function run(instrument: Middleware, o: { middleware?: Middleware[]; handler?: () => unknown } = {}) {
  let runs = 0
  const { queue, clock, events } = harness({ middleware: o.middleware ?? [], instrumentation: [{ middleware: instrument }] })
  queue.register('t', async () => {
    runs++
    await settle(1)
    return o.handler ? o.handler() : 'done'
  })
  const { id } = await queue.dispatch(job('t', 1).retry(1).backoff(10))
  await queue.start()
  await settle()
  await advance(clock, 100, 10)
  const record = await queue.getJob(id)
  const reported = events.flatMap((e) => (e.kind === 'queue:error' ? [e.error.message] : []))
  await queue.close()
  return { runs: () => runs, record, reported }
}

describe('a faulty middleware of the instrumentation', () => {
  it('that throws before calling next is reported, and the attempt runs as if it were absent', async () => {
    const out = await run(() => {
      throw new Error('tracer broke')
    })
    expect(out.runs()).toBe(1)
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toEqual(['tracer broke'])
  })

  it('that rejects before calling next is reported, and the attempt runs as if it were absent', async () => {
    const out = await run(async () => Promise.reject(new Error('tracer broke later')))
    expect(out.runs()).toBe(1)
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toEqual(['tracer broke later'])
  })

  it('that calls next twice runs the handler once; the second call is reported and gets the first one’s outcome', async () => {
    const seen: unknown[] = []
    const out = await run(async (_ctx, next) => {
      seen.push(await next())
      seen.push(await next())
      return 'other'
    })
    expect(out.runs()).toBe(1)
    expect(seen).toEqual(['done', 'done'])
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toHaveLength(1)
    expect(out.reported[0]).toMatch(/next\(\) called more than once/)
  })

  it('that calls next twice at once runs the handler once', async () => {
    const out = await run(async (_ctx, next) => Promise.all([next(), next()]))
    expect(out.runs()).toBe(1)
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toHaveLength(1)
  })

  it('that returns without calling next is reported, and the handler runs all the same', async () => {
    const out = await run(async () => 'fake')
    expect(out.runs()).toBe(1)
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toHaveLength(1)
    expect(out.reported[0]).toMatch(/without calling next/)
  })

  it('that throws after next resolved is reported, and the job keeps the handler’s outcome', async () => {
    const out = await run(async (_ctx, next) => {
      await next()
      throw new Error('export failed')
    })
    expect(out.runs()).toBe(1)
    expect(out.record).toMatchObject({ state: 'succeeded', attempt: 1, result: 'done' })
    expect(out.reported).toEqual(['export failed'])
  })

  it('that throws its own error after the handler failed is reported; the job fails with the handler’s error', async () => {
    const out = await run(
      async (_ctx, next) => {
        await next().catch(() => undefined)
        throw new Error('export failed')
      },
      { handler: () => Promise.reject(new Error('handler failed')) },
    )
    expect(out.runs()).toBe(2)
    expect(out.record).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'handler failed' } })
    expect(out.reported).toEqual(['export failed', 'export failed'])
  })

  it('that swallows the handler’s failure does not make the job succeed', async () => {
    const out = await run(async (_ctx, next) => next().catch(() => 'swallowed'), { handler: () => Promise.reject(new Error('handler failed')) })
    expect(out.runs()).toBe(2)
    expect(out.record).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'handler failed' } })
  })

  it('is not at fault when it passes on the handler’s failure', async () => {
    const seen: string[] = []
    const out = await run(
      async (_ctx, next) => {
        try {
          return await next()
        } catch (err) {
          seen.push((err as Error).message)
          throw err
        }
      },
      { handler: () => Promise.reject(new Error('handler failed')) },
    )
    expect(out.runs()).toBe(2)
    expect(seen).toEqual(['handler failed', 'handler failed'])
    expect(out.record).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'handler failed' } })
    expect(out.reported).toEqual([])
  })

  it('leaves the errors of the options’ middleware to the job', async () => {
    const seen: string[] = []
    const out = await run(
      async (_ctx, next) => {
        try {
          return await next()
        } catch (err) {
          seen.push((err as Error).message)
          throw err
        }
      },
      {
        middleware: [
          () => {
            throw new Error('refused')
          },
        ],
      },
    )
    expect(out.runs()).toBe(0)
    expect(seen).toEqual(['refused', 'refused'])
    expect(out.record).toMatchObject({ state: 'failed', attempt: 2, error: { message: 'refused' } })
    expect(out.reported).toEqual([])
  })
})
