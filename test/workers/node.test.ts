import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Worker } from 'node:worker_threads'
import { filter, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError, NotFoundError, QueueClosedError, QueueError, SerializationError, createQueue, job, memoryStore } from '../../src/index.js'
import { batch$, chain$, counts$, events$, job$, ofKind } from '../../src/observable/index.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import { withPrepare } from '../../src/core/job-spec.js'
import type { Jobs } from './fixtures/jobs.js'
import { tempDirs } from '../storage/wasm-sqlite/temp-dir.js'
import { tsWorker } from './fixtures/spawn.js'

const host = new URL('./fixtures/node-host.ts', import.meta.url)
const dir = tempDirs('ferry-workers-')

// Each test starts a worker_thread that compiles TypeScript on the way in: seconds on a busy machine.
describe('a queue hosted in a Node worker_thread', { timeout: 60_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient<Jobs> | undefined
  afterEach(async () => {
    await client?.close()
    await worker?.terminate()
    client = undefined
    worker = undefined
  })

  const open = (data: { path?: string; offline?: boolean; idle?: boolean } = {}) => {
    worker = tsWorker(host, data)
    client = connectQueue<Jobs>(worker)
    return client
  }

  it('dispatches from the main thread, runs in the worker, and shows the result', async () => {
    const q = open()
    const { id, duplicate } = await q.dispatch(job('add', { a: 20, b: 22 }))
    expect(duplicate).toBe(false)
    const final = await lastValueFrom(job$(q, id))
    expect(final).toMatchObject({ state: 'succeeded', result: 42 })
    expect(await q.counts()).toMatchObject({ succeeded: 1 })
  })

  it('hosts a queue on the durable file store and runs what the main thread dispatches', async () => {
    const path = join(dir(), 'jobs.db')
    const q = open({ path })
    const ids = (await q.dispatchMany(Array.from({ length: 200 }, (_, i) => job('add', { a: i, b: 1 })))).map((r) => r.id)
    const done = firstValueFrom(counts$(q).pipe(filter((c) => c.succeeded === 200)))
    expect(await done).toMatchObject({ waiting: 0, active: 0, succeeded: 200 })
    expect(await q.getJob(ids[199] ?? '')).toMatchObject({ state: 'succeeded', result: 200 })
    const err = await q.findBatch('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err).toBeInstanceOf(QueueError)
    const header = readFileSync(path).subarray(0, 16).toString('latin1')
    expect(header).toBe('SQLite format 3\u0000')
  })

  it('streams the worker’s events to events$ on the main thread', async () => {
    const q = open()
    const kinds = firstValueFrom(events$(q).pipe(take(3), toArray()))
    await q.dispatch(job('add', { a: 1, b: 1 }))
    expect((await kinds).map((e) => e.kind)).toEqual(['job:dispatched', 'job:started', 'job:succeeded'])
    const failed = firstValueFrom(events$(q).pipe(ofKind('job:failed')))
    await q.dispatch(job('fail', { message: 'bad input' }))
    expect((await failed).error).toMatchObject({ name: 'UnrecoverableError', message: 'bad input', code: 'UNRECOVERABLE' })
  })

  it('keeps the class and code of errors across the boundary', async () => {
    const q = open()
    const err = await q.findBatch('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ name: 'NotFoundError', code: 'NOT_FOUND' })
    const bad = await q.dispatch(job('add', { a: 1, b: 2 }).withId('x')).then(() => q.chain().dispatch()).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(InvalidArgumentError)
  })

  it('makes a payload made at dispatch on this side, then sends it: single jobs, chains, batches and schedules', async () => {
    const q = open()
    const later = (a: number, b: number) => withPrepare(job('add', { a: 0, b: 0 }), async () => ({ a, b }))
    const { id } = await q.dispatch(later(2, 3))
    expect(await lastValueFrom(job$(q, id))).toMatchObject({ state: 'succeeded', result: 5, payload: { a: 2, b: 3 } })
    const [many] = await q.dispatchMany([later(4, 4)])
    expect(await lastValueFrom(job$(q, many?.id ?? ''))).toMatchObject({ result: 8 })
    const chainId = await q.chain(later(1, 1), job('add', { a: 1, b: 2 })).onSuccess(later(5, 5)).dispatch()
    expect(await lastValueFrom(chain$(q, chainId))).toMatchObject({ state: 'succeeded' })
    const batchId = await q.batch(later(6, 6)).onSettled(later(7, 7)).dispatch()
    expect(await lastValueFrom(batch$(q, batchId))).toMatchObject({ state: 'succeeded' })
    await q.schedule('later', { every: 3_600_000 }, later(9, 9))
    expect((await q.listSchedules())[0]).toMatchObject({ name: 'later', payload: { a: 9, b: 9 } })
  })

  it('refuses a payload that cannot cross with SerializationError, as a local queue does, and writes nothing', async () => {
    const q = open()
    const local = await createQueue({ store: memoryStore() }).dispatch(job('add', (() => 1) as never)).catch((e: unknown) => e)
    expect(local).toBeInstanceOf(SerializationError)
    for (const send of [
      () => q.dispatch(job('add', (() => 1) as never)),
      () => q.dispatchMany([job('add', { a: 1, b: 1 }), job('add', { a: 1, b: Symbol('b') as never })]),
      () => q.chain(job('add', { a: 1, b: 1 })).onSuccess(job('fail', { message: (() => 'x') as never })).dispatch(),
      () => q.batch(job('add', { a: 1, b: 1 })).onSettled(job('fail', { message: (() => 'x') as never })).dispatch(),
      () => q.schedule('fn', { every: 1000 }, job('add', (() => 1) as never)),
      // Passes the payload check, but postMessage cannot clone it.
      () => q.dispatch(job('add', new WeakMap() as never)),
    ]) {
      const err = await send().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SerializationError)
      expect(err).toMatchObject({ name: 'SerializationError', code: 'SERIALIZATION' })
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, active: 0, succeeded: 0, blocked: 0 })
    expect(await q.listSchedules()).toEqual([])
  })

  it('runs chains and batches built on the main thread', async () => {
    const q = open()
    const chainId = await q.chain(job('add', { a: 1, b: 1 }), job('add', { a: 2, b: 2 })).dispatch()
    const batchId = await q.batch(job('add', { a: 1, b: 2 }), job('add', { a: 3, b: 4 })).name('sums').dispatch()
    expect(await lastValueFrom(chain$(q, chainId))).toMatchObject({ state: 'succeeded' })
    expect(await lastValueFrom(batch$(q, batchId))).toMatchObject({ name: 'sums', state: 'succeeded', succeeded: 2 })
  })

  it('keeps counts$ right from the main thread', async () => {
    const q = open()
    await q.pause()
    await q.dispatchMany(Array.from({ length: 50 }, (_, i) => job('add', { a: i, b: i })))
    const settled = firstValueFrom(counts$(q).pipe(filter((c) => c.succeeded === 50)))
    await q.resume()
    expect(await settled).toMatchObject({ waiting: 0, active: 0, succeeded: 50 })
  })

  it('tells the main thread which of the worker’s queues are paused', async () => {
    const q = open()
    expect(await q.pausedQueues()).toEqual([])
    await q.pause()
    expect(await q.pausedQueues()).toEqual(['default'])
    await q.resume('default')
    expect(await q.pausedQueues()).toEqual([])
  })

  it('serves only the queue API: no method is replaced, no code is evaluated, and the queue goes on', async () => {
    const q = open()
    // Comlink's wire format, written by hand: a message may name any property path and any
    // operation on the object the worker serves.
    const raw = (msg: Record<string, unknown>): Promise<{ type: string; name?: string; value: unknown }> =>
      new Promise((resolve) => {
        const id = `raw-${Math.random()}`
        const on = (data: { id?: string; type: string; value: unknown }) => {
          if (data.id !== id) return
          worker?.off('message', on)
          resolve(data)
        }
        worker?.on('message', on)
        worker?.postMessage({ ...msg, id })
      })
    const refused = { type: 'HANDLER', name: 'throw', value: { isError: true, value: { name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT' } } }
    const arg = (value: unknown) => ({ type: 'RAW', value })
    expect(await raw({ type: 'SET', path: ['dispatchMany'], value: arg('gone') })).toMatchObject(refused)
    expect(await raw({ type: 'CONSTRUCT', path: ['counts', 'constructor'], argumentList: [arg('return 40 + 2')] })).toMatchObject(refused)
    expect(await raw({ type: 'APPLY', path: ['constructor', 'keys'], argumentList: [arg({})] })).toMatchObject(refused)
    expect(await raw({ type: 'APPLY', path: ['__proto__', 'toString'], argumentList: [] })).toMatchObject(refused)
    expect(await raw({ type: 'GET', path: ['counts'] })).toMatchObject(refused)
    const { id } = await q.dispatch(job('add', { a: 2, b: 3 }))
    expect(await lastValueFrom(job$(q, id))).toMatchObject({ state: 'succeeded', result: 5 })
  })

  it('rejects calls after close with QueueClosedError and releases the event channel', async () => {
    const q = open()
    const off = q.events.subscribe(() => {})
    off()
    await q.close()
    await expect(q.counts()).rejects.toBeInstanceOf(QueueClosedError)
  })

  it('rejects pending and later calls with QueueClosedError when the worker thread throws before it serves', async () => {
    worker = tsWorker(new URL('./fixtures/node-throwing.ts', import.meta.url))
    client = connectQueue<Jobs>(worker)
    const err = await client.counts().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueueClosedError)
    expect(((err as Error).cause as Error | undefined)?.message).toMatch(/could not start/)
    await expect(client.dispatch(job('add', { a: 1, b: 1 }))).rejects.toBeInstanceOf(QueueClosedError)
  })

  it('rejects pending and later calls with QueueClosedError when the worker thread is terminated', async () => {
    const q = open()
    expect(await q.counts()).toMatchObject({ waiting: 0 })
    const { id } = await q.dispatch(job('slow', { ms: 60_000 }))
    await expect.poll(async () => (await q.getJob(id))?.state, { timeout: 10_000 }).toBe('active')
    const pending = q.counts().catch((e: unknown) => e)
    await worker?.terminate()
    expect(await pending).toSatisfy((v) => v instanceof QueueClosedError || typeof (v as { waiting?: unknown }).waiting === 'number')
    const later = await q.counts().catch((e: unknown) => e)
    expect(later).toBeInstanceOf(QueueClosedError)
    expect((later as Error).message).toMatch(/exited/)
  })

  it('shows the worker’s network state from the start and follows it, with or without listeners', async () => {
    const q = open({ offline: true })
    await expect.poll(() => q.online, { timeout: 10_000 }).toBe(false)
    const heard: string[] = []
    const off = q.events.subscribe((e) => heard.push(e.kind))
    worker?.postMessage({ setOnline: true })
    await expect.poll(() => q.online, { timeout: 10_000 }).toBe(true)
    off()
    worker?.postMessage({ setOnline: false })
    await expect.poll(() => q.online, { timeout: 10_000 }).toBe(false)
    expect(heard).toEqual(['queue:online'])
  })

  it('drains the hosted queue from the main thread: jobs that need the network wait while the worker is offline', async () => {
    const q = open({ offline: true, idle: true })
    const [add, net] = await q.dispatchMany([job('add', { a: 1, b: 2 }), job('net', { a: 3, b: 4 })])
    await q.drain()
    expect(await q.getJob(add?.id ?? '')).toMatchObject({ state: 'succeeded', result: 3 })
    expect(await q.getJob(net?.id ?? '')).toMatchObject({ state: 'waiting', attempt: 0 })
    worker?.postMessage({ setOnline: true })
    await expect.poll(() => q.online, { timeout: 10_000 }).toBe(true)
    await q.drain({ timeoutMs: 20_000 })
    expect(await q.getJob(net?.id ?? '')).toMatchObject({ state: 'succeeded', result: 7, attempt: 1 })
    // The engine was left as it was found: not started, so a later dispatch waits.
    const { id } = await q.dispatch(job('add', { a: 0, b: 0 }))
    expect(await q.getJob(id)).toMatchObject({ state: 'waiting' })
  })

  it('lets the Node process exit by itself after close() and terminate()', () => {
    const main = fileURLToPath(new URL('./fixtures/node-main.ts', import.meta.url))
    const out = spawnSync(process.execPath, ['--import', 'tsx', main], { encoding: 'utf8', timeout: 50_000 })
    expect(out.error).toBeUndefined()
    expect(out.status).toBe(0)
    expect(out.stdout).toContain('{"result":true}')
  })
})
