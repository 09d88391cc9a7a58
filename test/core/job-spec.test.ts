import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, job } from '../../src/index.js'
import { specOptions } from '../../src/core/job-spec.js'

describe('job()', () => {
  it('returns a new spec from every builder method and leaves the original alone', () => {
    const base = job('email:send', { to: 'a@b.c' })
    const tuned = base.onQueue('mail').priority(3).retry(5).backoff(250).timeout(9000).uniqueFor(60_000, 'k').withId('id-1')
    expect(specOptions(base)).toEqual({ type: 'email:send', payload: { to: 'a@b.c' } })
    expect(specOptions(tuned)).toMatchObject({
      queue: 'mail',
      priority: 3,
      retry: 5,
      backoff: 250,
      timeoutMs: 9000,
      uniqueForMs: 60_000,
      uniqueKey: 'k',
      id: 'id-1',
    })
    expect(tuned.type).toBe('email:send')
    expect(tuned.payload).toEqual({ to: 'a@b.c' })
  })

  it('keeps only the last of delay and runAt', () => {
    const at = new Date('2030-01-01T00:00:00Z')
    expect(specOptions(job('t', 1).delay(500).runAt(at))).toMatchObject({ runAt: at.getTime() })
    expect(specOptions(job('t', 1).delay(500).runAt(at)).delayMs).toBeUndefined()
    expect(specOptions(job('t', 1).runAt(at).delay(500)).runAt).toBeUndefined()
  })

  it.each([
    ['an empty type', () => job('', 1)],
    ['a negative delay', () => job('t', 1).delay(-1)],
    ['a fractional retry', () => job('t', 1).retry(1.5)],
    ['a zero timeout', () => job('t', 1).timeout(0)],
    ['an invalid date', () => job('t', 1).runAt(new Date('nope'))],
    ['an unknown backoff', () => job('t', 1).backoff({ type: 'linear' } as never)],
    ['an exponential backoff without base', () => job('t', 1).backoff({ type: 'exponential', base: 0 })],
    ['an empty id', () => job('t', 1).withId('')],
    ['an infinite priority', () => job('t', 1).priority(Infinity)],
  ])('rejects %s with InvalidArgumentError', (_name, make) => {
    expect(make).toThrow(InvalidArgumentError)
  })
})
