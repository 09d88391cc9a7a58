import { describe, expect, it } from 'vitest'
import { job } from '../../src/index.js'
import { createTestQueue } from '../../src/testing/index.js'

describe('createTestQueue: stop, start and close', () => {
  it('starts again after stop', async () => {
    const q = createTestQueue<{ t: number }>({ startAt: 0 })
    const ran: number[] = []
    q.register('t', (p) => void ran.push(p))
    await q.stop()
    await q.dispatch(job('t', 1))
    await q.runUntilIdle()
    expect(ran).toEqual([])
    await q.start()
    await q.runUntilIdle()
    expect(ran).toEqual([1])
    await q.close()
  })

  it('closes while a handler still runs, in real time, without the test moving the clock', async () => {
    const q = createTestQueue({ startAt: 0, handlerWaitMs: 20 })
    let signal: AbortSignal | undefined
    q.register('stuck', (_p, ctx) => {
      signal = ctx.signal
      return new Promise(() => {})
    })
    const { id } = await q.dispatch(job('stuck', {}))
    await q.runUntilIdle()
    expect((await q.getJob(id))?.state).toBe('active')
    await q.stop()
    expect(signal?.aborted).toBe(true)
    expect(await q.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    await q.close()
    expect(q.clock.now()).toBe(0)
  })

  it('waits for a running handler up to timeoutMs when stop is given one', async () => {
    const q = createTestQueue({ startAt: 0, handlerWaitMs: 20 })
    let finish: (v: string) => void = () => {}
    q.register('t', () => new Promise<string>((resolve) => (finish = resolve)))
    const { id } = await q.dispatch(job('t', {}))
    await q.runUntilIdle()
    const stopping = q.stop({ timeoutMs: 60_000 })
    finish('done')
    await stopping
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', result: 'done' })
  })
})
