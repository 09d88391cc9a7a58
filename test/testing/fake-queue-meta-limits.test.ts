import { describe, expect, it } from 'vitest'
import { createQueue, job, type JobMeta, type Queue } from '../../src/index.js'
import { createFakeQueue, type FakeQueue } from '../../src/testing/index.js'

const meta = (prefix: string, n: number, value = 'v'): JobMeta => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value]))

/** The metadata a real queue gives a chain's onSuccess callback: its handler's `ctx.meta`. */
async function realCallbackMeta(shared: JobMeta, own?: JobMeta): Promise<JobMeta | undefined> {
  const q: Queue = createQueue()
  let seen: JobMeta | undefined
  q.register('a', () => undefined)
  q.register('cb', (_p, ctx) => void (seen = ctx.meta))
  const cb = own ? job('cb', 0).meta(own) : job('cb', 0)
  await q.chain(job('a', 1).meta(shared), job('a', 2).meta(shared)).onSuccess(cb).dispatch()
  await q.start()
  await q.drain({ timeoutMs: 5000 })
  await q.close()
  return seen
}

function fakeChainCallback(q: FakeQueue, shared: JobMeta, own?: JobMeta) {
  const cb = own ? job('cb', 0).meta(own) : job('cb', 0)
  return q.chain(job('a', 1).meta(shared), job('a', 2).meta(shared)).onSuccess(cb).dispatch()
}

describe('the fake queue, a callback whose inherited metadata would pass the limits', () => {
  it('keeps only the callback’s own metadata when the two together have too many keys, as the queue does', async () => {
    const shared = meta('s', 20)
    const own = meta('o', 20, 'w')
    const q = createFakeQueue()
    await fakeChainCallback(q, shared, own)
    await q.batch(job('a', 1).meta(shared), job('a', 2).meta(shared)).onSettled(job('cb', 0).meta(own)).dispatch()
    expect(q.recorded.chains[0]?.onSuccess?.meta).toEqual(own)
    expect(q.recorded.batches[0]?.onSettled?.meta).toEqual(own)
    expect(await realCallbackMeta(shared, own)).toEqual(own)
  })

  it('keeps only the callback’s own metadata when the two together are too long, as the queue does', async () => {
    const shared = meta('s', 3, 'x'.repeat(1000))
    const own = meta('o', 2, 'y'.repeat(1000))
    const q = createFakeQueue()
    await fakeChainCallback(q, shared, own)
    expect(q.recorded.chains[0]?.onSuccess?.meta).toEqual(own)
    expect(await realCallbackMeta(shared, own)).toEqual(own)
  })

  it('still merges them when together they are within the limits', async () => {
    const shared = meta('s', 16)
    const own = meta('o', 16, 'w')
    const q = createFakeQueue()
    await fakeChainCallback(q, shared, own)
    expect(q.recorded.chains[0]?.onSuccess?.meta).toEqual({ ...shared, ...own })
    expect(await realCallbackMeta(shared, own)).toEqual({ ...shared, ...own })
  })
})
