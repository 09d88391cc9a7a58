import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, StorageError, job, memoryStore, type QueueEvent, type Store } from '../../src/index.js'
import { defineStore, storeBackend } from '../../src/core/define-store.js'
import type { StoreBackend } from '../../src/core/store-backend.js'
import { createTestQueue, faultyStore, INJECTED_FAULT, isInjectedFault, randomFaults, type FaultCall, type FaultRule } from '../../src/testing/index.js'
import { newJob } from '../../src/testing/contract/harness.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (e: unknown) => e)

/** A memory store whose backend counts the jobs its transactions put, committed or not. */
function countingStore(): { store: Store; puts: () => number } {
  const backend = storeBackend(memoryStore()) as StoreBackend
  let puts = 0
  const counted = new Proxy(backend, {
    get(target, prop) {
      if (prop === 'write') {
        return (fn: Parameters<StoreBackend['write']>[0], opts?: { tx?: unknown }) =>
          target.write((tx) => fn(new Proxy(tx, { get: (t, p) => (p === 'putJob' ? (...a: Parameters<typeof t.putJob>) => (puts++, t.putJob(...a)) : (Reflect.get(t, p, t) as unknown)) })), opts)
      }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  return { store: defineStore(counted), puts: () => puts }
}

describe('faultyStore', () => {
  it('fails a call before its transaction: a StorageError of code INJECTED_FAULT, nothing written', async () => {
    const { store: inner, puts } = countingStore()
    const store = faultyStore(inner, [{ method: 'insert', nth: 1, kind: 'before' }])
    const j = newJob()
    const err = await failure(store.insert({ now: 1000, jobs: [j] }))
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ code: INJECTED_FAULT, fault: 'before', method: 'insert' })
    expect(isInjectedFault(err)).toBe(true)
    expect(puts()).toBe(0)
    expect(await store.getJob(j.id)).toBeUndefined()
    expect(store.injected).toEqual([{ method: 'insert', nth: 1, call: 1, kind: 'before' }])
    // The second insert is not picked by the plan.
    await store.insert({ now: 1000, jobs: [j] })
    expect((await inner.getJob(j.id))?.state).toBe('waiting')
  })

  it('fails a call inside its transaction: the store ran its writes and rolled them back', async () => {
    const { store: inner, puts } = countingStore()
    const store = faultyStore(inner, [{ method: 'insert', kind: 'inside' }])
    const heard: QueueEvent[] = []
    store.watch?.((events) => heard.push(...events))
    const j = newJob()
    const err = await failure(store.insert({ now: 1000, jobs: [j] }))
    expect(err).toMatchObject({ code: INJECTED_FAULT, fault: 'inside' })
    expect(puts()).toBe(1)
    expect(await inner.getJob(j.id)).toBeUndefined()
    expect(await inner.counts(1000)).toMatchObject({ waiting: 0 })
    expect(heard).toEqual([])
    expect(store.injected).toMatchObject([{ kind: 'inside' }])
  })

  it('rolls back a SQLite transaction that an inside fault fails', async () => {
    const inner = sqliteStore()
    const store = faultyStore(inner, [{ method: 'insert', nth: 1, kind: 'inside' }])
    const [a, b] = [newJob(), newJob()]
    expect(await failure(store.insert({ now: 1000, jobs: [a] }))).toMatchObject({ code: INJECTED_FAULT, fault: 'inside' })
    await store.insert({ now: 1000, jobs: [b] })
    expect((await inner.listJobs({}, 1000)).map((j) => j.id)).toEqual([b.id])
    await store.close()
  })

  it('fails a call after it committed: the data is there, watchers heard it, the caller got the error', async () => {
    const inner = memoryStore()
    const store = faultyStore(inner, [{ method: 'insert', kind: 'after', times: 1 }])
    const heard: QueueEvent[] = []
    store.watch?.((events) => heard.push(...events))
    const j = newJob()
    const err = await failure(store.insert({ now: 1000, jobs: [j] }))
    expect(err).toMatchObject({ code: INJECTED_FAULT, fault: 'after', message: expect.stringMatching(/after it committed/) as unknown })
    expect((await inner.getJob(j.id))?.state).toBe('waiting')
    expect(heard.map((e) => e.kind)).toEqual(['job:dispatched'])
    // times: 1, so the next insert goes through.
    await store.insert({ now: 1000, jobs: [newJob()] })
    expect(store.injected).toHaveLength(1)
  })

  it('injects an inside fault as before on a store not made with defineStore', async () => {
    const inner = memoryStore()
    const handmade: Store = { ...inner }
    const store = faultyStore(handmade, [{ method: 'insert', kind: 'inside' }])
    const j = newJob()
    expect(await failure(store.insert({ now: 1000, jobs: [j] }))).toMatchObject({ code: INJECTED_FAULT, fault: 'before' })
    expect(await inner.getJob(j.id)).toBeUndefined()
    expect(store.injected).toMatchObject([{ kind: 'before' }])
  })

  it('picks calls by method and ordinal, by a condition on the input, and stops once healed', async () => {
    const store = faultyStore(memoryStore(), [
      { method: ['getJob', 'counts'], nth: [2, 3], kind: 'before' },
      { method: 'insert', when: (c) => (c.input as { jobs: { id: string }[] }).jobs[0]?.id === 'bad', kind: 'before' },
    ])
    const outcomes = []
    for (let i = 0; i < 4; i++) outcomes.push(await failure(store.getJob('x')).then((e) => (e ? 'failed' : 'ok')))
    expect(outcomes).toEqual(['ok', 'failed', 'failed', 'ok'])
    expect(await failure(store.insert({ now: 1000, jobs: [newJob({ id: 'bad' })] }))).toBeInstanceOf(StorageError)
    await store.insert({ now: 1000, jobs: [newJob({ id: 'good' })] })
    store.heal()
    await store.insert({ now: 1000, jobs: [newJob({ id: 'bad' })] })
    expect((await store.getJob('bad'))?.state).toBe('waiting')
    expect(store.injected.map((f) => `${f.method}#${f.nth}`)).toEqual(['getJob#2', 'getJob#3', 'insert#1'])
  })

  it('asks a plan function about every call, in call order, with a per-method ordinal', async () => {
    const seen: FaultCall[] = []
    const store = faultyStore(memoryStore(), (call) => void seen.push(call))
    await Promise.all([store.counts(1), store.getJob('a'), store.counts(2)])
    expect(seen.map((c) => [c.method, c.nth, c.call, c.input])).toEqual([
      ['counts', 1, 1, 1],
      ['getJob', 1, 2, 'a'],
      ['counts', 2, 3, 2],
    ])
  })

  it('randomFaults: the same seed fails the same calls', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const store = faultyStore(memoryStore(), randomFaults({ seed, rate: 0.5, methods: ['getJob'] }))
      for (let i = 0; i < 40; i++) await failure(store.getJob('x'))
      await store.counts(1)
      return store.injected.map((f) => `${f.nth}:${f.kind}`)
    }
    const a = await run(7)
    expect(a.length).toBeGreaterThan(5)
    expect(a.length).toBeLessThan(35)
    expect(await run(7)).toEqual(a)
    expect(await run(8)).not.toEqual(a)
  })

  it('rejects a plan it cannot follow with InvalidArgumentError', () => {
    expect(() => faultyStore(memoryStore(), [{ kind: 'sometimes' as 'before' }])).toThrow(InvalidArgumentError)
    expect(() => faultyStore(memoryStore(), [{ method: 'close' as 'insert', kind: 'before' }])).toThrow(InvalidArgumentError)
    expect(() => randomFaults({ seed: 1.5, rate: 0.1 })).toThrow(InvalidArgumentError)
    expect(() => randomFaults({ seed: 1, rate: 2 })).toThrow(InvalidArgumentError)
  })

  const badRules: [string, unknown, RegExp][] = [
    ['a rule that is not an object', null, /rule/],
    ['nth 0', { nth: 0, kind: 'before' }, /nth/],
    ['nth given as a string', { nth: '1', kind: 'before' }, /nth/],
    ['nth 1.5 in a list', { nth: [1, 1.5], kind: 'before' }, /nth/],
    ['times -1', { times: -1, kind: 'before' }, /times/],
    ['times NaN', { times: NaN, kind: 'before' }, /times/],
    ['times 0', { times: 0, kind: 'before' }, /times/],
    ['an empty method list', { method: [], kind: 'before' }, /method/],
    ['a method that is not a name', { method: 3, kind: 'before' }, /method/],
    ['when that is not a function', { when: 3, kind: 'before' }, /when/],
    ['an unknown kind', { kind: 'bogus' }, /kind/],
  ]
  for (const [what, rule, field] of badRules) {
    it(`rejects a rule with ${what} when the plan is made, naming the field`, () => {
      const make = (): unknown => faultyStore(memoryStore(), [rule as FaultRule])
      expect(make).toThrow(InvalidArgumentError)
      expect(make).toThrow(field)
    })
  }

  const badRandom: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown kind', { seed: 1, rate: 0.5, kinds: ['bogus'] }, /kinds/],
    ['an unknown method', { seed: 1, rate: 0.5, methods: ['count'] }, /methods/],
    ['an empty method list', { seed: 1, rate: 0.5, methods: [] }, /methods/],
    ['a rate that is not a number', { seed: 1, rate: NaN }, /rate/],
    ['a seed that is not a number', { seed: '1', rate: 0.5 }, /seed/],
  ]
  for (const [what, options, field] of badRandom) {
    it(`randomFaults rejects ${what}, naming the option`, () => {
      const make = (): unknown => randomFaults(options as Parameters<typeof randomFaults>[0])
      expect(make).toThrow(InvalidArgumentError)
      expect(make).toThrow(field)
    })
  }

  it('rejects a call whose plan function names an unknown kind: InvalidArgumentError, no fault, nothing written', async () => {
    const { store: inner, puts } = countingStore()
    const store = faultyStore(inner, (call) => (call.method === 'insert' && call.nth === 1 ? ('bogus' as 'before') : undefined))
    const j = newJob()
    const err = await failure(store.insert({ now: 1000, jobs: [j] }))
    expect(err).toBeInstanceOf(InvalidArgumentError)
    expect(err).toMatchObject({ message: expect.stringMatching(/kind/) as unknown })
    expect(isInjectedFault(err)).toBe(false)
    expect(puts()).toBe(0)
    expect(await inner.getJob(j.id)).toBeUndefined()
    expect(store.injected).toEqual([])
    // The plan is asked again about the next call, which goes through.
    await store.insert({ now: 1000, jobs: [j] })
    expect((await inner.getJob(j.id))?.state).toBe('waiting')
  })

  it('runs an engine that reports the faults and finishes the job once they stop', async () => {
    const store = faultyStore(memoryStore(), [{ method: 'settleAndClaim', nth: [1, 2, 3], kind: 'inside' }])
    const queue = createTestQueue({ store, startAt: 0 })
    const errors: unknown[] = []
    queue.events.subscribe((e) => e.kind === 'queue:error' && errors.push(e.error))
    queue.register('t', () => 'done')
    const { id } = await queue.dispatch(job('t', {}))
    await queue.advance(10_000)
    expect((await queue.getJob(id))?.state).toBe('succeeded')
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors[0]).toMatchObject({ name: 'StorageError', code: INJECTED_FAULT, data: { fault: 'inside', method: 'settleAndClaim' } })
    await queue.close()
  })
})
