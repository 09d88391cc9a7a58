import { describe, expect, it, vi } from 'vitest'
import { ENGINE_LOCK_PREFIX, webLocksLiveness } from '../../src/core/liveness.js'
import { InvalidArgumentError } from '../../src/core/errors.js'
import { idbStore } from '../../src/storage/idb/index.js'

let n = 0
const owner = (name: string): string => `${name}-${Date.now()}-${++n}`

/** A dedicated worker that holds an engine lock for `name` until it is terminated. */
async function workerHolding(name: string): Promise<Worker> {
  const code = `navigator.locks.request(${JSON.stringify(ENGINE_LOCK_PREFIX + name)}, () => { postMessage('held'); return new Promise(() => {}) })`
  const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })))
  await new Promise<void>((resolve) => worker.addEventListener('message', () => resolve(), { once: true }))
  return worker
}

describe('webLocksLiveness (Chromium)', () => {
  it('lists the owners that hold, whichever object or context holds them', async () => {
    const [a, b, w] = [owner('a'), owner('b'), owner('w')]
    const here = webLocksLiveness()
    const there = webLocksLiveness()
    const releaseA = await here.hold(a)
    const releaseB = await there.hold(b)
    const worker = await workerHolding(w)
    expect(await here.alive()).toEqual(expect.arrayContaining([a, b, w]))
    releaseB()
    await vi.waitFor(async () => expect(await here.alive()).not.toContain(b))
    expect(await here.alive()).toEqual(expect.arrayContaining([a, w]))
    worker.terminate()
    releaseA()
  })

  it('tells a holder whose lock another script steals, and not one that released it', async () => {
    const [a, b] = [owner('a'), owner('b')]
    const liveness = webLocksLiveness()
    let lostA = 0
    let lostB = 0
    await liveness.hold(a, () => lostA++)
    const releaseB = await liveness.hold(b, () => lostB++)
    releaseB()
    await navigator.locks.request(ENGINE_LOCK_PREFIX + a, { steal: true }, () => undefined)
    await vi.waitFor(() => expect(lostA).toBe(1))
    expect(lostB).toBe(0)
  })

  it('calls a watcher when an engine it saw alive releases its hold', async () => {
    const [a, b] = [owner('a'), owner('b')]
    const here = webLocksLiveness()
    const there = webLocksLiveness()
    await here.hold(a)
    const releaseB = await there.hold(b)
    let calls = 0
    const unwatch = here.watch?.(() => calls++)
    if (!unwatch) throw new Error('webLocksLiveness has no watch')
    expect(await here.alive()).toContain(b)
    await new Promise((r) => setTimeout(r, 50))
    expect(calls).toBe(0)
    releaseB()
    await vi.waitFor(() => expect(calls).toBe(1))
    unwatch()
  })

  it('calls a watcher when the context of an engine it saw alive dies', async () => {
    const w = owner('w')
    const here = webLocksLiveness()
    let calls = 0
    const unwatch = here.watch?.(() => calls++)
    if (!unwatch) throw new Error('webLocksLiveness has no watch')
    const worker = await workerHolding(w)
    expect(await here.alive()).toContain(w)
    const killed = performance.now()
    worker.terminate()
    await vi.waitFor(() => expect(calls).toBe(1), { timeout: 5000 })
    const ms = performance.now() - killed
    console.log(`watch heard a terminated worker's engine die after ${ms.toFixed(1)} ms`)
    expect(ms).toBeLessThan(5000)
    expect(await here.alive()).not.toContain(w)
    unwatch()
  })

  it('while watching, waits on every engine seen alive with a shared request, and drops them all once unwatched', async () => {
    const b = owner('b')
    const here = webLocksLiveness()
    const releaseB = await webLocksLiveness().hold(b)
    const pending = async (): Promise<{ name?: string; mode?: string }[]> =>
      ((await navigator.locks.query()).pending ?? []).filter((l) => l.name === ENGINE_LOCK_PREFIX + b)
    const unwatch = here.watch?.(() => undefined)
    if (!unwatch) throw new Error('webLocksLiveness has no watch')
    await here.alive()
    expect(await pending()).toEqual([expect.objectContaining({ mode: 'shared' })])
    // Waiting watchers never make an engine look alive, nor hide one.
    expect((await navigator.locks.query()).held?.filter((l) => l.name === ENGINE_LOCK_PREFIX + b)).toEqual([
      expect.objectContaining({ mode: 'exclusive' }),
    ])
    unwatch()
    await vi.waitFor(async () => expect(await pending()).toEqual([]))
    releaseB()
  })

  it('refuses to hold an owner twice through one object, and an empty owner', async () => {
    const a = owner('a')
    const here = webLocksLiveness()
    const release = await here.hold(a)
    await expect(here.hold(a)).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(here.hold('')).rejects.toBeInstanceOf(InvalidArgumentError)
    release()
  })

  it('is the liveness of an IndexedDB store in a browser', async () => {
    const store = idbStore({ name: `liveness-${Date.now()}` })
    const liveness = store.liveness
    if (!liveness) throw new Error('idbStore has no liveness in Chromium')
    const a = owner('a')
    const release = await liveness.hold(a)
    expect(await webLocksLiveness().alive()).toContain(a)
    expect(typeof liveness.watch).toBe('function')
    release()
    await store.close()
  })
})
