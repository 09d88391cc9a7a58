import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import { idbStore } from '../../../src/storage/idb/index.js'

const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
afterEach(() => {
  if (had) Object.defineProperty(globalThis, 'navigator', had)
  else delete (globalThis as { navigator?: unknown }).navigator
})

describe('idbStore in Node', () => {
  it('has no liveness even where Node has Web Locks: they are per process, and an IndexedDB polyfill may be shared by several', async () => {
    const locks = { request: () => Promise.resolve(), query: () => Promise.resolve({ held: [] }) }
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true })
    const store = idbStore({ name: `liveness-node-${Date.now()}` })
    expect(store.liveness).toBeUndefined()
    await store.close()
  })
})
