import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { SerializationError } from '../../../src/core/errors.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { strictJson } from '../../../src/storage/wasm-sqlite/strict-json.js'

const cycle: Record<string, unknown> = { a: 1 }
cycle.self = cycle

const unfaithful: [string, unknown][] = [
  ['a function', { run: () => 1 }],
  ['a symbol', { s: Symbol('x') }],
  ['a symbol key', { [Symbol('k')]: 1 }],
  ['a cycle', cycle],
  ['undefined in an array', [1, undefined, 3]],
  ['an array hole', [1, , 3]], // eslint-disable-line no-sparse-arrays
  ['a named property on an array', { list: Object.assign([1, 2], { note: 'dropped by JSON' }) }],
  ['a BigInt', { n: 10n }],
  ['NaN', { n: Number.NaN }],
  ['Infinity', [Number.POSITIVE_INFINITY]],
  ['a Date', { at: new Date(0) }],
  ['a Map', { m: new Map([[1, 2]]) }],
  ['a Set', new Set([1])],
  ['a class instance', { x: new (class Point { x = 1 })() }],
  ['a typed array', { bytes: new Uint8Array(2) }],
]

describe('payloads on the SQLite store', () => {
  it.each(unfaithful)('rejects %s with SerializationError and writes nothing', async (_what, payload) => {
    const store = sqliteStore()
    const queue = createQueue({ store })
    await queue.dispatch(job('kept', { ok: true }))
    const err = await queue.dispatchMany([job('t', { fine: 1 }), job('t', payload)]).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(SerializationError)
    // Functions, symbols and cycles are refused by the core for every store, the rest by SQLite's JSON.
    expect((err as Error).message).toMatch(/^cannot store (the payload of job .* as JSON|payload.* of job .*): /)
    expect((await queue.listJobs()).map((j) => j.type)).toEqual(['kept'])
    await queue.close()
  })

  it('says where in the payload the value is, and what to store instead of a Date', () => {
    expect(() => strictJson({ user: { photos: [{ takenAt: new Date() }] } }, 'p')).toThrow(
      'cannot store p.user.photos[0].takenAt as JSON: a Date is not plain JSON: store date.toISOString() or date.getTime() instead',
    )
  })

  it('keeps what JSON holds faithfully, leaves out undefined properties, and keeps an undefined payload', async () => {
    const store = sqliteStore()
    const queue = createQueue({ store })
    const payload = { s: 'é "quoted"\n', n: -1.5e-7, big: 2 ** 53 - 1, t: true, nil: null, list: [[], {}, [1, 'two']], gone: undefined, proto: Object.create(null) as object }
    const a = await queue.dispatch(job('t', payload))
    const b = await queue.dispatch(job('t', undefined))
    const { gone: _gone, ...kept } = payload
    const stored = await queue.getJob(a.id)
    expect(stored?.payload).toStrictEqual({ ...kept, proto: {} })
    expect(Object.keys(stored?.payload as object)).not.toContain('gone')
    expect((await queue.getJob(b.id))?.payload).toBeUndefined()
    await queue.close()
  })

  it('fails a job whose result cannot be stored with SerializationError, and settles the others', async () => {
    const store = sqliteStore()
    const queue = createQueue({ store, concurrency: 2, defaults: { retry: 0 } })
    queue.register('bad', async () => ({ when: new Date() }))
    queue.register('good', async () => ({ ok: 1 }))
    const bad = await queue.dispatch(job('bad', {}))
    const good = await queue.dispatch(job('good', {}))
    await queue.start()
    await expect.poll(async () => (await queue.getJob(bad.id))?.state).toBe('failed')
    expect((await queue.getJob(bad.id))?.error).toMatchObject({ name: 'SerializationError' })
    expect(await queue.getJob(good.id)).toMatchObject({ state: 'succeeded', result: { ok: 1 } })
    await queue.close()
  })
})
