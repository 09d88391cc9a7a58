/** `faultyStore` over IndexedDB: an `inside` fault aborts a real IndexedDB transaction. */
import { expect, it } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { faultyStore } from '../../src/testing/index.js'
import { newJob } from '../../src/testing/contract/harness.js'

it('rolls back an IndexedDB transaction that an inside fault fails, and keeps one an after fault fails', async () => {
  const name = `ferry-faulty-${Date.now()}`
  const inner = idbStore({ name })
  const store = faultyStore(inner, [
    { method: 'insert', nth: 1, kind: 'inside' },
    { method: 'insert', nth: 2, kind: 'after' },
  ])
  try {
    const [a, b, c] = [newJob(), newJob(), newJob()]
    await expect(store.insert({ now: 1000, jobs: [a] })).rejects.toMatchObject({ code: 'INJECTED_FAULT', fault: 'inside' })
    await expect(store.insert({ now: 1000, jobs: [b] })).rejects.toMatchObject({ code: 'INJECTED_FAULT', fault: 'after' })
    await store.insert({ now: 1000, jobs: [c] })
    expect(await inner.getJob(a.id)).toBeUndefined()
    expect((await inner.listJobs({}, 1000)).map((j) => j.id)).toEqual([b.id, c.id])
    expect(await inner.counts(1000)).toMatchObject({ waiting: 2 })
  } finally {
    await store.close()
    indexedDB.deleteDatabase(name)
  }
})
