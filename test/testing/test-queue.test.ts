import { lastValueFrom } from 'rxjs'
import { describe, expect, it } from 'vitest'
import { JobTimeoutError, job } from '../../src/index.js'
import { job$ } from '../../src/observable/index.js'
import { createTestQueue } from '../../src/testing/index.js'

/** Real time passing, as a handler's network call or file read would take. */
const realDelay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('createTestQueue', () => {
  it('runs what is ready with runUntilIdle, and what comes due with advance', async () => {
    const q = createTestQueue<{ t: string }>({ startAt: 0 })
    const ran: string[] = []
    q.register('t', (p) => void ran.push(`${p}@${q.clock.now()}`))
    await q.dispatch(job('t', 'now'))
    await q.dispatch(job('t', 'later').delay(5000))
    await q.runUntilIdle()
    expect(ran).toEqual(['now@0'])
    await q.advance(4999)
    expect(ran).toEqual(['now@0'])
    await q.advance(1)
    expect(ran).toEqual(['now@0', 'later@5000'])
  })

  it('retries with backoff at the exact times', async () => {
    const q = createTestQueue({ startAt: 0 })
    const attempts: number[] = []
    q.register('flaky', () => {
      attempts.push(q.clock.now())
      if (attempts.length < 4) throw new Error('again')
    })
    const { id } = await q.dispatch(job('flaky', {}).retry(5).backoff({ type: 'exponential', base: 1000 }))
    await q.advance(60_000)
    expect(attempts).toEqual([0, 1000, 3000, 7000])
    expect((await q.getJob(id))?.state).toBe('succeeded')
  })

  it('times out a hanging attempt when time passes its timeout', async () => {
    const q = createTestQueue({ startAt: 0 })
    q.register('hang', () => new Promise(() => {}))
    const { id } = await q.dispatch(job('hang', {}).timeout(30_000).retry(0))
    await q.runUntilIdle()
    expect((await q.getJob(id))?.state).toBe('active')
    await q.advance(30_000)
    expect(await q.getJob(id)).toMatchObject({ state: 'failed', error: { name: JobTimeoutError.name } })
  })

  it('runs chains and batches to the end', async () => {
    const q = createTestQueue({ startAt: 0 })
    q.register('step', (n, ctx) => `${typeof ctx.previousResult === 'string' ? ctx.previousResult : ''}${String(n)}`)
    q.register('upload', () => 'ok')
    const done: unknown[] = []
    q.register('done', (_p, ctx) => void done.push(ctx.batch?.succeeded))
    const chainId = await q.chain(job('step', 1), job('step', 2).delay(1000), job('step', 3)).dispatch()
    const batchId = await q.batch(job('upload', 1), job('upload', 2), job('upload', 3)).onSuccess(job('done', {})).dispatch()
    await q.advance(1000)
    const chain = await q.findChain(chainId)
    expect(chain.state).toBe('succeeded')
    expect((await q.getJob(chain.steps[2]?.jobId ?? ''))?.result).toBe('123')
    expect((await q.findBatch(batchId)).state).toBe('succeeded')
    expect(done).toEqual([3])
  })

  it('runs schedules as time passes', async () => {
    const q = createTestQueue({ startAt: Date.UTC(2026, 0, 1) })
    const at: string[] = []
    q.register('nightly', () => void at.push(new Date(q.clock.now()).toISOString()))
    await q.schedule('nightly', '0 3 * * *', job('nightly', {}), { timezone: 'UTC' })
    await q.advance(3 * 86_400_000)
    expect(at).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-02T03:00:00.000Z', '2026-01-03T03:00:00.000Z'])
  })

  it('takes the options of a real queue, except the clock', async () => {
    const q = createTestQueue({ startAt: 0, concurrency: 2, defaults: { retry: 0 } })
    q.register('t', () => {
      throw new Error('no retries by default here')
    })
    const { id } = await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'failed', attempt: 1, maxAttempts: 1 })
  })

  it('starts itself: a test can wait on its events or on job$ alone', async () => {
    const q = createTestQueue<{ t: number }>({ startAt: 0 })
    q.register('t', (n) => n * 2)
    const succeeded = new Promise<string>((resolve) =>
      q.events.subscribe((e) => {
        if (e.kind === 'job:succeeded') resolve(e.jobId)
      }),
    )
    const { id } = await q.dispatch(job('t', 21))
    expect(await succeeded).toBe(id)
    const second = await q.dispatch(job('t', 1))
    expect(await lastValueFrom(job$(q, second.id))).toMatchObject({ state: 'succeeded', result: 2 })
  })

  it('runUntilIdle waits for a handler that awaits real time', async () => {
    const q = createTestQueue({ startAt: 0 })
    q.register('io', async () => {
      await realDelay(20)
      return 'read'
    })
    const { id } = await q.dispatch(job('io', {}))
    await q.runUntilIdle()
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', result: 'read' })
  })

  it('advance lets a handler awaiting real time finish before time moves on', async () => {
    const q = createTestQueue({ startAt: 0 })
    const attempts: number[] = []
    q.register('upload', async () => {
      attempts.push(q.clock.now())
      await realDelay(20)
      if (attempts.length === 1) throw new Error('offline')
    })
    const { id } = await q.dispatch(job('upload', {}).retry(1).backoff(1000))
    await q.advance(1000)
    expect(attempts).toEqual([0, 1000])
    expect((await q.getJob(id))?.state).toBe('succeeded')
  })

  it('runUntilIdle stops waiting for a handler still running after handlerWaitMs of real time', async () => {
    const q = createTestQueue({ startAt: 0, handlerWaitMs: 50 })
    q.register('hang', () => new Promise(() => {}))
    const { id } = await q.dispatch(job('hang', {}))
    await q.runUntilIdle()
    expect((await q.getJob(id))?.state).toBe('active')
  })

  it('advance waits for handlers that start from jobs claimed ahead behind one it gave up on', async () => {
    const q = createTestQueue({ concurrency: 1, handlerWaitMs: 200 })
    const done: number[] = []
    q.register('fast', async () => undefined)
    q.register('clock', () => new Promise<void>((resolve) => q.clock.setTimeout(resolve, 10)))
    q.register('io', async (p) => {
      await realDelay(30)
      done.push((p as { n: number }).n)
    })
    await q.dispatchMany(Array.from({ length: 10 }, () => job('fast', {})))
    await q.runUntilIdle()
    await q.dispatchMany([job('clock', {}), job('io', { n: 1 }), job('io', { n: 2 })])
    // Gives up on the handler that waits for the manual clock; the others wait behind it.
    await q.runUntilIdle()
    expect(done).toEqual([])
    await q.advance(10)
    expect(done).toEqual([1, 2])
    expect((await q.counts()).succeeded).toBe(13)
    await q.close()
  })
})
