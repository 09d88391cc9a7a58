import { filter, firstValueFrom, lastValueFrom } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { NotFoundError, QueueError, job } from '../../src/index.js'
import { counts$, events$, job$, ofKind } from '../../src/observable/index.js'
import { connectQueue, exposeQueue, type QueueClient } from '../../src/workers/index.js'
import type { Jobs } from '../workers/fixtures/jobs.js'

describe('a queue hosted in a dedicated Worker, driven from the page', () => {
  let worker: Worker | undefined
  let client: QueueClient<Jobs> | undefined
  afterEach(async () => {
    await client?.close()
    worker?.terminate()
  })

  const open = () => {
    worker = new Worker(new URL('./fixtures/queue.worker.ts', import.meta.url), { type: 'module' })
    client = connectQueue<Jobs>(worker)
    return client
  }

  it('dispatches from the page and sees the result computed in the worker', async () => {
    const q = open()
    const { id } = await q.dispatch(job('add', { a: 40, b: 2 }))
    expect(await lastValueFrom(job$(q, id))).toMatchObject({ state: 'succeeded', result: 42 })
  })

  it('watches the worker’s events and counts from the page', async () => {
    const q = open()
    const failed = firstValueFrom(events$(q).pipe(ofKind('job:failed')))
    await q.dispatch(job('fail', { message: 'corrupt file' }))
    expect((await failed).error).toMatchObject({ name: 'UnrecoverableError', code: 'UNRECOVERABLE' })
    const done = firstValueFrom(counts$(q).pipe(filter((c) => c.succeeded === 20)))
    await q.dispatchMany(Array.from({ length: 20 }, (_, i) => job('add', { a: i, b: 1 })))
    expect(await done).toMatchObject({ succeeded: 20, failed: 1, waiting: 0 })
  })

  it('keeps the class and code of errors', async () => {
    const q = open()
    const err = await q.findChain('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ code: 'NOT_FOUND' })
  })

  it('refuses to expose a queue on the page itself', () => {
    expect(() => exposeQueue({} as never)).toThrow(/inside a worker/)
  })
})
