import { describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../src/core/errors.js'
import { exclusiveLiveness, webLocksLiveness } from '../../src/core/liveness.js'
import { memoryStore } from '../../src/core/memory-store.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'

describe('exclusiveLiveness', () => {
  it('lists exactly the owners holding through it', async () => {
    const liveness = exclusiveLiveness()
    expect(await liveness.alive()).toEqual([])
    const releaseA = await liveness.hold('a')
    const releaseB = await liveness.hold('b')
    expect((await liveness.alive()).sort()).toEqual(['a', 'b'])
    releaseA()
    expect(await liveness.alive()).toEqual(['b'])
    releaseB()
    expect(await liveness.alive()).toEqual([])
  })

  it('keeps an owner held twice alive until both holds are released, and ignores a second release', async () => {
    const liveness = exclusiveLiveness()
    const first = await liveness.hold('a')
    const second = await liveness.hold('a')
    first()
    first()
    expect(await liveness.alive()).toEqual(['a'])
    second()
    expect(await liveness.alive()).toEqual([])
  })

  it('knows nothing of the owners holding through another object: they belong to another context', async () => {
    const here = exclusiveLiveness()
    const elsewhere = exclusiveLiveness()
    await elsewhere.hold('gone')
    await here.hold('me')
    expect(await here.alive()).toEqual(['me'])
  })

  it('has no watch: nothing that dies can be seen while this context lives', () => {
    expect(exclusiveLiveness().watch).toBeUndefined()
  })

  it('refuses an owner that is not a non-empty string', async () => {
    const liveness = exclusiveLiveness()
    await expect(liveness.hold('')).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(liveness.hold(42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError)
  })
})

describe('webLocksLiveness', () => {
  it('refuses to be made without Web Locks', () => {
    expect(() => webLocksLiveness(null as never)).toThrow(InvalidArgumentError)
    expect(() => webLocksLiveness({ request: () => Promise.resolve() } as never)).toThrow(/navigator\.locks/)
  })
})

describe('the stores only this context reaches', () => {
  it('give exclusive liveness: memory, SQLite in memory', async () => {
    for (const store of [memoryStore(), sqliteStore()]) {
      const liveness = store.liveness
      if (!liveness) throw new Error('the store has no liveness')
      const release = await liveness.hold('engine-x')
      expect(await liveness.alive()).toEqual(['engine-x'])
      release()
      expect(await liveness.alive()).toEqual([])
      expect(liveness.watch).toBeUndefined()
      await store.close()
    }
  })
})
