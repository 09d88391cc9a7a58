import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, createQueue, job } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'

// Half of a surrogate pair: SQLite keeps text as UTF-8 and would turn each into U+FFFD.
const HIGH = '\ud800'
const LOW = '\udc00'

describe('ids and names must be well-formed text', () => {
  it.each([
    ['a job id', () => job('t', 1).withId(HIGH)],
    ['a job id ending in half a pair', () => job('t', 1).withId(`photo-${LOW}`)],
    ['a job type', () => job(`t${HIGH}`, 1)],
    ['a queue name', () => job('t', 1).onQueue(LOW)],
    ['a unique key', () => job('t', 1).uniqueFor(1000, HIGH)],
  ])('refuses %s with half of a surrogate pair', (_what, make) => {
    expect(make).toThrow(InvalidArgumentError)
  })

  it('refuses chain and batch ids with half of a surrogate pair', () => {
    const q = createQueue()
    expect(() => q.chain(job('t', 1)).withId(HIGH)).toThrow(InvalidArgumentError)
    expect(() => q.batch(job('t', 1)).withId(LOW)).toThrow(InvalidArgumentError)
  })

  it('keeps two ids apart that differ outside the basic plane, on the SQLite store', async () => {
    const q = createQueue({ store: sqliteStore() })
    const a = await q.dispatch(job('t', 1).withId('\ud83d\ude00'))
    const b = await q.dispatch(job('t', 2).withId('\ud83d\ude01'))
    expect([a.duplicate, b.duplicate]).toEqual([false, false])
    expect((await q.getJob('\ud83d\ude01'))?.payload).toBe(2)
    await q.close()
  })
})
