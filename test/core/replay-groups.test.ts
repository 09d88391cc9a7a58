import { describe, expect, it } from 'vitest'
import { NotFoundError, QueueError, UnrecoverableError, job, memoryStore, type JobContext, type Store } from '../../src/index.js'
import { defineStore, storeBackend } from '../../src/core/define-store.js'
import type { StoreBackend, StoreTx } from '../../src/core/store-backend.js'
import { createTestQueue } from '../../src/testing/index.js'
import { deferred, harness, settle } from '../helpers.js'

/** A memory store whose write transactions fail at their `n`-th putJob once `arm` is called. */
function storeFailingAtPut(n: number): { store: Store; arm(on?: boolean): void } {
  const backend = storeBackend(memoryStore()) as StoreBackend
  let armed = false
  const failing = (tx: StoreTx): StoreTx => {
    let puts = 0
    return new Proxy(tx, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown
        if (key !== 'putJob' || !armed) return typeof v === 'function' ? v.bind(target) : v
        return async (j: Parameters<StoreTx['putJob']>[0]) => {
          if (++puts === n) throw new Error('the disk went away')
          return target.putJob(j)
        }
      },
    })
  }
  const store = defineStore({
    write: (fn, opts) => backend.write((tx) => fn(failing(tx)), opts),
    read: (fn) => backend.read(fn),
    close: () => backend.close(),
  })
  return { store, arm: (on = true) => void (armed = on) }
}

type Jobs = { step: string; flaky: string; member: number; cb: string }

/** A queue whose `flaky` step and member 2 fail for good until `fixed` is set. */
function flakyQueue(o: { store?: Store; concurrency?: number } = {}) {
  const h = harness<Jobs>({ concurrency: 4, ...o })
  const state = { fixed: false }
  const ran: string[] = []
  const callbacks: { on: string; error?: string; chain?: string; batch?: string }[] = []
  const previous: unknown[] = []
  h.queue.register('step', (name) => {
    ran.push(name)
    return `${name}-done`
  })
  h.queue.register('flaky', (name, ctx) => {
    ran.push(name)
    previous.push(ctx.previousResult)
    if (!state.fixed) throw new UnrecoverableError(`${name} broke`)
    return `${name}-done`
  })
  h.queue.register('member', (n) => {
    ran.push(`member ${n}`)
    if (n === 2 && !state.fixed) throw new UnrecoverableError(`member ${n} broke`)
  })
  h.queue.register('cb', (on, ctx: JobContext) => {
    callbacks.push({
      on,
      ...(ctx.error ? { error: ctx.error.message } : {}),
      ...(ctx.chain ? { chain: ctx.chain.state } : {}),
      ...(ctx.batch ? { batch: ctx.batch.state } : {}),
    })
  })
  return { ...h, state, ran, callbacks, previous }
}

const chainOf = (q: ReturnType<typeof flakyQueue>['queue']) =>
  q.chain(job('step', 'a'), job('flaky', 'b'), job('step', 'c')).onSuccess(job('cb', 'success')).onError(job('cb', 'error')).onSettled(job('cb', 'settled'))

const batchOf = (q: ReturnType<typeof flakyQueue>['queue']) =>
  q
    .batch(job('member', 1), job('member', 2), job('member', 3))
    .onSuccess(job('cb', 'success'))
    .onError(job('cb', 'error'))
    .onSettled(job('cb', 'settled'))

describe('queue.replayChain', () => {
  it('runs a failed chain again from its failed step, to its end, and its callbacks fire once more', async () => {
    const { queue, state, ran, callbacks, previous, kinds } = flakyQueue()
    const id = await chainOf(queue).dispatch()
    await queue.drain()
    expect(await queue.findChain(id)).toMatchObject({ state: 'failed', current: 1 })
    expect(callbacks.map((c) => c.on).sort()).toEqual(['error', 'settled'])
    state.fixed = true
    const before = kinds().length
    await queue.replayChain(id)
    expect(kinds().slice(before)).toEqual(['chain:started', 'job:dispatched', 'job:dispatched'])
    await queue.drain()
    const chain = await queue.findChain(id)
    expect(chain).toMatchObject({ state: 'succeeded', current: 2 })
    expect(chain.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    expect(ran).toEqual(['a', 'b', 'b', 'c'])
    expect(previous).toEqual(['a-done', 'a-done'])
    expect(callbacks.slice(2).map((c) => c.on).sort()).toEqual(['settled', 'success'])
    expect(callbacks.slice(2)).toContainEqual({ on: 'success', chain: 'succeeded' })
    expect(callbacks).toHaveLength(4)
  })

  it('refuses a second replay while the first runs, and the callbacks of the new run fire once', async () => {
    const { queue, state, callbacks } = flakyQueue()
    const id = await chainOf(queue).dispatch()
    await queue.drain()
    state.fixed = true
    await queue.replayChain(id)
    const err = await queue.replayChain(id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ code: 'INVALID_STATE' })
    await queue.drain()
    expect(callbacks.map((c) => c.on).sort()).toEqual(['error', 'settled', 'settled', 'success'])
    await expect(queue.replayChain(id)).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('replays once when two replays are asked at the same time', async () => {
    const { queue, state, callbacks, ran } = flakyQueue()
    const id = await chainOf(queue).dispatch()
    await queue.drain()
    state.fixed = true
    const both = await Promise.allSettled([queue.replayChain(id), queue.replayChain(id)])
    expect(both.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected'])
    expect(both.find((r) => r.status === 'rejected')).toMatchObject({ reason: { code: 'INVALID_STATE' } })
    await queue.drain()
    expect(ran).toEqual(['a', 'b', 'b', 'c'])
    expect(callbacks.map((c) => c.on).sort()).toEqual(['error', 'settled', 'settled', 'success'])
  })

  it('replays a chain that failed again, as often as it fails', async () => {
    const { queue, state, callbacks, ran } = flakyQueue()
    const id = await chainOf(queue).dispatch()
    await queue.drain()
    await queue.replayChain(id)
    await queue.drain()
    expect(await queue.findChain(id)).toMatchObject({ state: 'failed' })
    state.fixed = true
    await queue.replayChain(id)
    await queue.drain()
    expect(await queue.findChain(id)).toMatchObject({ state: 'succeeded' })
    expect(ran).toEqual(['a', 'b', 'b', 'b', 'c'])
    expect(callbacks.filter((c) => c.on === 'error')).toEqual([
      { on: 'error', error: 'b broke', chain: 'failed' },
      { on: 'error', error: 'b broke', chain: 'failed' },
    ])
    expect(callbacks.filter((c) => c.on === 'settled')).toHaveLength(3)
    expect(callbacks.filter((c) => c.on === 'success')).toHaveLength(1)
  })

  it('rejects an unknown chain with NotFoundError and a running one with INVALID_STATE', async () => {
    const { queue } = flakyQueue()
    await expect(queue.replayChain('nope')).rejects.toBeInstanceOf(NotFoundError)
    const id = await chainOf(queue).dispatch()
    await expect(queue.replayChain(id)).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await expect(queue.replayChain('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('changes nothing when a write fails half way, and replays once the store works', async () => {
    const { store, arm } = storeFailingAtPut(2)
    const { queue, state, callbacks } = flakyQueue({ store })
    const id = await chainOf(queue).dispatch()
    await queue.drain()
    const stepsBefore = await queue.listJobs({ chainId: id })
    const chainBefore = await queue.findChain(id)
    arm()
    await expect(queue.replayChain(id)).rejects.toThrow('the disk went away')
    expect(await queue.findChain(id)).toEqual(chainBefore)
    expect(await queue.listJobs({ chainId: id })).toEqual(stepsBefore)
    arm(false)
    state.fixed = true
    await queue.replayChain(id)
    await queue.drain()
    expect(await queue.findChain(id)).toMatchObject({ state: 'succeeded' })
    expect(callbacks.map((c) => c.on).sort()).toEqual(['error', 'settled', 'settled', 'success'])
  })
})

describe('queue.replayBatch', () => {
  it('runs a failed batch\'s failed and cancelled jobs again, to its end, and its callbacks fire once more', async () => {
    const { queue, state, ran, callbacks, kinds } = flakyQueue()
    const id = await batchOf(queue).dispatch()
    await queue.drain()
    const failed = await queue.findBatch(id)
    expect(failed).toMatchObject({ state: 'failed', failed: 1 })
    expect(callbacks.map((c) => c.on).sort()).toEqual(['error', 'settled'])
    state.fixed = true
    const before = kinds().length
    await queue.replayBatch(id)
    expect(kinds().slice(before)[0]).toBe('batch:started')
    const running = await queue.findBatch(id)
    expect(running).toMatchObject({ state: 'running', failed: 0, cancelled: 0, pending: 3 - failed.succeeded, succeeded: failed.succeeded })
    expect(running.finishedAt).toBeUndefined()
    await queue.drain()
    expect(await queue.findBatch(id)).toMatchObject({ state: 'succeeded', succeeded: 3, failed: 0, cancelled: 0, pending: 0 })
    expect(callbacks.slice(2).map((c) => c.on).sort()).toEqual(['settled', 'success'])
    expect(callbacks.slice(2)).toContainEqual({ on: 'success', batch: 'succeeded' })
    expect(ran.filter((r) => r === 'member 2')).toHaveLength(2)
  })

  it('refuses a batch cancelled with cancelBatch, a running one, and a second replay', async () => {
    const { queue, state } = flakyQueue()
    await expect(queue.replayBatch('nope')).rejects.toBeInstanceOf(NotFoundError)
    const cancelled = await batchOf(queue).dispatch()
    await expect(queue.replayBatch(cancelled)).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await queue.cancelBatch(cancelled)
    await expect(queue.replayBatch(cancelled)).rejects.toMatchObject({ code: 'INVALID_STATE' })
    const id = await batchOf(queue).dispatch()
    await queue.drain()
    state.fixed = true
    await queue.replayBatch(id)
    await expect(queue.replayBatch(id)).rejects.toMatchObject({ code: 'INVALID_STATE' })
  })

  it('refuses a failed batch while one of its jobs still runs, even asked to stop; replays it once its first run settled', async () => {
    const { queue } = harness<{ slow: null; f: null; cb: string }>({ concurrency: 2 })
    const gate = deferred()
    const state = { broken: true }
    let slowRuns = 0
    const callbacks: string[] = []
    // The slow job does not heed its signal: it finishes its work, then the engine settles it.
    queue.register('slow', async () => {
      slowRuns++
      if (state.broken) await gate.promise
    })
    queue.register('f', () => {
      if (state.broken) throw new UnrecoverableError('f broke')
    })
    queue.register('cb', (on, ctx) => void callbacks.push(`${on}:${ctx.batch?.state}`))
    await queue.start()
    const id = await queue
      .batch(job('slow', null), job('f', null))
      .onSuccess(job('cb', 'success'))
      .onError(job('cb', 'error'))
      .onSettled(job('cb', 'settled'))
      .dispatch()
    await settle(5)
    const failed = await queue.findBatch(id)
    expect(failed).toMatchObject({ state: 'failed', pending: 1, failed: 1 })
    expect(await queue.cancel(failed.jobIds[0] ?? '')).toBe(true)
    const err = await queue.replayBatch(id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ code: 'INVALID_STATE', message: expect.stringContaining('wait until its running jobs end') })
    expect(await queue.findBatch(id)).toEqual(failed)
    gate.resolve(undefined)
    await settle(5)
    const settled = await queue.findBatch(id)
    expect(settled).toMatchObject({ state: 'failed', pending: 0, failed: 1, cancelled: 1 })
    expect(settled.finishedAt).toBeDefined()
    expect(callbacks.sort()).toEqual(['error:failed', 'settled:failed'])
    state.broken = false
    await queue.replayBatch(id)
    await settle(5)
    expect(await queue.findBatch(id)).toMatchObject({ state: 'succeeded', pending: 0, succeeded: 2, failed: 0, cancelled: 0 })
    expect(slowRuns).toBe(2)
    expect(callbacks.slice(2).sort()).toEqual(['settled:succeeded', 'success:succeeded'])
    await queue.stop()
  })

  it('changes nothing when a write fails half way', async () => {
    const { store, arm } = storeFailingAtPut(2)
    // One at a time: member 3 is cancelled when member 2 fails, so the replay puts two jobs.
    const { queue } = flakyQueue({ store, concurrency: 1 })
    const id = await batchOf(queue).dispatch()
    await queue.drain()
    const membersBefore = await queue.listJobs({ batchId: id })
    const batchBefore = await queue.findBatch(id)
    expect(batchBefore).toMatchObject({ state: 'failed', succeeded: 1, failed: 1, cancelled: 1 })
    arm()
    await expect(queue.replayBatch(id)).rejects.toThrow('the disk went away')
    expect(await queue.findBatch(id)).toEqual(batchBefore)
    expect(await queue.listJobs({ batchId: id })).toEqual(membersBefore)
  })
})

describe('createTestQueue', () => {
  it('replays a failed chain and batch as a queue does', async () => {
    const q = createTestQueue<{ once: string }>()
    const runs = new Map<string, number>()
    q.register('once', (key) => {
      runs.set(key, (runs.get(key) ?? 0) + 1)
      if (runs.get(key) === 1) throw new UnrecoverableError(`${key} broke`)
    })
    const chainId = await q.chain(job('once', 'c')).dispatch()
    const batchId = await q.batch(job('once', 'b')).dispatch()
    await q.runUntilIdle()
    expect((await q.findChain(chainId)).state).toBe('failed')
    await q.replayChain(chainId)
    await q.replayBatch(batchId)
    await q.runUntilIdle()
    expect((await q.findChain(chainId)).state).toBe('succeeded')
    expect((await q.findBatch(batchId)).state).toBe('succeeded')
    await q.close()
  })
})
