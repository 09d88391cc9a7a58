import { describe, expect, it } from 'vitest'
import { DEFAULT_BACKOFF, backoffDelay } from '../../src/core/backoff.js'

describe('backoffDelay', () => {
  it('waits a fixed time for a number or a fixed backoff', () => {
    expect(backoffDelay(750, 1, 0.3)).toBe(750)
    expect(backoffDelay({ type: 'fixed', delay: 200 }, 5, 0.9)).toBe(200)
  })

  it('doubles from the base and stops at the cap', () => {
    const b = { type: 'exponential', base: 100, max: 1000 } as const
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(b, n, 0))).toEqual([100, 200, 400, 800, 1000, 1000])
  })

  it('keeps between half and all of the delay with jitter', () => {
    const b = { type: 'exponential', base: 1000, jitter: true } as const
    expect(backoffDelay(b, 3, 0)).toBe(2000)
    expect(backoffDelay(b, 3, 0.999999)).toBe(4000)
    expect(backoffDelay(b, 3, 0.5)).toBe(3000)
  })

  it('defaults to exponential from 1 s with jitter, capped at 5 minutes', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 1, 0.999999)).toBe(1000)
    expect(backoffDelay(DEFAULT_BACKOFF, 30, 0.999999)).toBe(300_000)
    expect(backoffDelay(DEFAULT_BACKOFF, 30, 0)).toBe(150_000)
  })
})
