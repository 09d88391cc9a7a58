import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, UnrecoverableError, job, type BatchState, type JobContext } from '../../src/index.js'
import { deferred, harness, settle } from '../helpers.js'

describe('batches', () => {
  it('runs jobs side by side and reports success once all are done', async () => {
    const { queue, kinds } = harness({ concurrency: 3 })
    const order: string[] = []
    let batchSeen: BatchState | undefined
    queue.register('upload', (n) => void order.push(`upload ${String(n)}`))
    queue.register('done', (_p, ctx) => {
      batchSeen = ctx.batch
      order.push('done')
    })
    queue.register('always', () => void order.push('always'))
    await queue.start()
    const id = await queue
      .batch(job('upload', 1), job('upload', 2), job('upload', 3))
      .name('photos')
      .onSuccess(job('done', {}))
      .onSettled(job('always', {}))
      .dispatch()
    await settle(10)
    expect(order.slice(0, 3).sort()).toEqual(['upload 1', 'upload 2', 'upload 3'])
    expect(order.slice(3).sort()).toEqual(['always', 'done'])
    expect(batchSeen).toMatchObject({ id, name: 'photos', state: 'succeeded', total: 3, pending: 0, succeeded: 3 })
    expect(await queue.findBatch(id)).toMatchObject({ state: 'succeeded', succeeded: 3, failed: 0, cancelled: 0 })
    expect(kinds()).toContain('batch:completed')
  })

  it('fails on the first failure without allowFailures and cancels the jobs not started', async () => {
    const { queue, kinds } = harness({ concurrency: 1 })
    const ran: string[] = []
    let error: JobContext['error']
    queue.register('job', (n) => {
      ran.push(String(n))
      if (n === 2) throw new UnrecoverableError('bad file')
    })
    queue.register('oops', (_p, ctx) => void (error = ctx.error))
    queue.register('done', () => void ran.push('success?!'))
    queue.register('always', () => void ran.push('always'))
    await queue.start()
    const id = await queue
      .batch(job('job', 1), job('job', 2), job('job', 3), job('job', 4))
      .onSuccess(job('done', {}))
      .onError(job('oops', {}))
      .onSettled(job('always', {}))
      .dispatch()
    await settle(10)
    expect(ran).toEqual(['1', '2', 'always'])
    expect(error).toMatchObject({ message: 'bad file' })
    expect(await queue.findBatch(id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 1, failed: 1, cancelled: 2 })
    expect(kinds()).toContain('batch:failed')
  })

  it('keeps going with allowFailures, runs onError once, and finishes failed without onSuccess', async () => {
    const { queue } = harness({ concurrency: 2 })
    const calls: string[] = []
    queue.register('job', (n) => {
      if ((n as number) % 2 === 0) throw new UnrecoverableError(`job ${String(n)} failed`)
    })
    queue.register('oops', () => void calls.push('error'))
    queue.register('done', () => void calls.push('success'))
    queue.register('always', () => void calls.push('settled'))
    await queue.start()
    const id = await queue
      .batch(...[1, 2, 3, 4, 5].map((n) => job('job', n)))
      .allowFailures()
      .onSuccess(job('done', {}))
      .onError(job('oops', {}))
      .onSettled(job('always', {}))
      .dispatch()
    await settle(10)
    expect(calls.sort()).toEqual(['error', 'settled'])
    expect(await queue.findBatch(id)).toMatchObject({ state: 'failed', pending: 0, succeeded: 3, failed: 2, cancelled: 0 })
  })

  it('coalesces progress callbacks: at most one waits at a time', async () => {
    const { queue, store } = harness({ concurrency: 5 })
    const gate = deferred()
    const progressSeen: number[] = []
    queue.register('job', () => gate.promise)
    queue.register('progress', (_p, ctx) => void progressSeen.push(ctx.batch?.pending ?? -1))
    // No handler for progress jobs yet: they stay waiting, so coalescing must hold them to one.
    const id = await queue.batch(...[1, 2, 3, 4, 5].map((n) => job('job', n))).onProgress(job('progress', {})).dispatch()
    const q2 = harness({ store, concurrency: 5 })
    q2.queue.register('job', () => gate.promise)
    await q2.queue.start()
    await settle()
    gate.resolve('ok')
    await settle(5)
    const progressJobs = await queue.listJobs({ type: 'progress' })
    expect(progressJobs).toHaveLength(1)
    expect(progressJobs[0]?.state).toBe('waiting')
    await q2.queue.stop()
    await queue.start()
    await settle(5)
    expect(progressSeen).toEqual([0])
    expect(await queue.findBatch(id)).toMatchObject({ state: 'succeeded' })
  })

  it('cancelBatch cancels the jobs not started; the batch finishes when running ones finish', async () => {
    const { queue, kinds } = harness({ concurrency: 1 })
    const gate = deferred()
    const ran: string[] = []
    queue.register('job', async (n) => {
      ran.push(String(n))
      await gate.promise
    })
    queue.register('always', (_p, ctx) => void ran.push(`settled:${ctx.batch?.state}`))
    await queue.start()
    const id = await queue.batch(job('job', 1), job('job', 2), job('job', 3)).onSettled(job('always', {})).dispatch()
    await settle()
    await queue.cancelBatch(id)
    expect(await queue.findBatch(id)).toMatchObject({ state: 'cancelled', pending: 1, cancelled: 2 })
    expect((await queue.findBatch(id)).finishedAt).toBeUndefined()
    gate.resolve(undefined)
    await settle(5)
    expect(ran).toEqual(['1', 'settled:cancelled'])
    const b = await queue.findBatch(id)
    expect(b).toMatchObject({ state: 'cancelled', pending: 0, succeeded: 1, cancelled: 2 })
    expect(b.finishedAt).toBeDefined()
    expect(kinds()).toContain('batch:cancelled')
  })

  it('writes nothing when a batch with a known id is dispatched again, so a retry is safe', async () => {
    const { queue } = harness()
    const a = await queue.batch(job('t', 1), job('t', 2)).withId('album-3').dispatch()
    const b = await queue.batch(job('t', 1), job('t', 2)).withId('album-3').dispatch()
    expect([a, b]).toEqual(['album-3', 'album-3'])
    expect(await queue.listJobs({ batchId: 'album-3' })).toHaveLength(2)
  })

  it('rejects an empty batch with a clear error', async () => {
    const { queue } = harness()
    await expect(queue.batch().dispatch()).rejects.toThrow(InvalidArgumentError)
    await expect(queue.batch().dispatch()).rejects.toThrow('a batch needs at least one job')
  })

  it('puts its jobs on the batch queue unless a job names its own', async () => {
    const { queue } = harness()
    const id = await queue.batch(job('a', 1), job('b', 2).onQueue('other')).onQueue('uploads').dispatch()
    const jobs = await queue.listJobs({ batchId: id })
    expect(jobs.map((j) => j.queue)).toEqual(['uploads', 'other'])
  })

  it('counts a cancelled job, and finishes cancelled instead of succeeded', async () => {
    const { queue } = harness()
    queue.register('job', () => 'ok')
    const id = await queue.batch(job('job', 1), job('job', 2)).dispatch()
    const [first] = await queue.listJobs({ batchId: id })
    await queue.cancel(first?.id ?? '')
    await queue.start()
    await settle(5)
    expect(await queue.findBatch(id)).toMatchObject({ state: 'cancelled', succeeded: 1, cancelled: 1, pending: 0 })
  })
})
