import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, createQueue, job, memoryStore } from '../../src/index.js'
import { withPrepare } from '../../src/core/job-spec.js'

/** A spec whose payload is read only at dispatch, counting how often it was read. */
function later(type: string, value: unknown) {
  const reads = { n: 0 }
  const spec = withPrepare(job<string, unknown>(type, { pending: true }), async () => {
    reads.n++
    await new Promise((r) => setTimeout(r, 5))
    return value
  })
  return { spec, reads }
}

describe('a payload made at dispatch', () => {
  it('is made once by dispatch and stored as the payload, builder options kept', async () => {
    const q = createQueue({ store: memoryStore() })
    const { spec, reads } = later('t', { made: 1 })
    const { id } = await q.dispatch(spec.priority(4).retry(1).withId('j1'))
    expect(id).toBe('j1')
    expect(reads.n).toBe(1)
    expect(await q.getJob('j1')).toMatchObject({ payload: { made: 1 }, priority: 4, maxAttempts: 2 })
    await q.close()
  })

  it('is made for every spec of dispatchMany, in order, next to plain specs', async () => {
    const q = createQueue({ store: memoryStore() })
    const a = later('t', 'A')
    const out = await q.dispatchMany([job('t', 'plain').withId('p'), a.spec.withId('a')])
    expect(out.map((r) => r.id)).toEqual(['p', 'a'])
    expect((await q.getJob('a'))?.payload).toBe('A')
    expect((await q.getJob('p'))?.payload).toBe('plain')
    await q.close()
  })

  it('is made for the steps and callbacks of chains and batches', async () => {
    const q = createQueue({ store: memoryStore() })
    const chainId = await q
      .chain(later('t', 's1').spec.withId('s1'), job('t', 's2').withId('s2'))
      .onSuccess(later('done', 'cb').spec)
      .dispatch()
    expect((await q.getJob('s1'))?.payload).toBe('s1')
    expect((await q.findChain(chainId)).state).toBe('running')
    const batchId = await q.batch(later('t', 'b1').spec.withId('b1')).onSettled(later('done', 'cb2').spec).dispatch()
    expect((await q.getJob('b1'))?.payload).toBe('b1')
    q.register('t', async () => undefined)
    const seen: unknown[] = []
    q.register('done', async (p) => void seen.push(p))
    await q.start()
    await q.drain()
    expect((await q.findBatch(batchId)).state).toBe('succeeded')
    expect(seen.sort()).toEqual(['cb', 'cb2'])
    await q.close()
  })

  it('is made once for a schedule, whose every occurrence carries it', async () => {
    const q = createQueue({ store: memoryStore() })
    const { spec, reads } = later('t', { made: 'nightly' })
    await q.schedule('nightly', { every: 60_000 }, spec)
    expect(reads.n).toBe(1)
    expect((await q.listSchedules())[0]?.payload).toEqual({ made: 'nightly' })
    await q.close()
  })

  it("refuses to join the caller's transaction, reading and writing nothing", async () => {
    const q = createQueue({ store: memoryStore() })
    const { spec, reads } = later('t', 1)
    await expect(q.dispatch(spec.withId('x'), { tx: {} })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(reads.n).toBe(0)
    expect(await q.getJob('x')).toBeUndefined()
    await q.close()
  })

  it('writes nothing when making a payload fails, and rejects with its error', async () => {
    const q = createQueue({ store: memoryStore() })
    const bad = withPrepare(job('t', 0), async () => {
      throw new Error('unreadable body')
    })
    await expect(q.dispatchMany([job('t', 1).withId('ok'), bad])).rejects.toThrow('unreadable body')
    expect(await q.getJob('ok')).toBeUndefined()
    await q.close()
  })
})
