import { describe, expect, it } from 'vitest'
import { job } from '../../src/index.js'
import { AssertionError, createFakeQueue, createTestQueue } from '../../src/testing/index.js'

describe('ferry/testing in Chromium', () => {
  it('records with the fake queue and fails its assertions with AssertionError', async () => {
    const q = createFakeQueue<{ 'sync:push': { n: number } }>()
    await q.dispatch(job('sync:push', { n: 1 }))
    q.assertDispatched('sync:push', (p) => p.n === 1)
    expect(() => q.assertDispatchedTimes('sync:push', 2)).toThrow(AssertionError)
  })

  it('drives the real engine with a manual clock', async () => {
    const q = createTestQueue({ startAt: 0 })
    const at: number[] = []
    q.register('t', () => void at.push(q.clock.now()))
    await q.dispatch(job('t', {}).delay(10_000))
    await q.advance(10_000)
    expect(at).toEqual([10_000])
  })
})
