import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/core/errors.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { storeContract } from '../../src/testing/index.js'

storeContract('sqliteStore in memory, on a page in Chromium', () => sqliteStore())

describe('sqliteStore with a path on a page', () => {
  it('refuses to open, saying to host the queue in a worker (ferry/workers)', async () => {
    expect(typeof document).toBe('object') // the main thread of a real page
    const store = sqliteStore({ path: 'jobs.db' })
    const err = await store.open().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect((err as StorageError).code).toBe('OPFS_NEEDS_WORKER')
    expect((err as Error).message).toMatch(/dedicated Worker/)
    expect((err as Error).message).toMatch(/ferry\/workers/)
    await store.close()
  })
})
