import { deleteDB, openDB } from 'idb'
import { expect, it } from 'vitest'
import { createQueue, job } from '../../src/index.js'
import { ferryStoreNames, idbStore, upgradeFerryStores } from '../../src/storage/idb/index.js'

it('gives every dispatch issued together in one application transaction its own place in dispatch order', { timeout: 60_000 }, async () => {
  const name = `ferry-joined-seq-${Date.now()}`
  const db = await openDB(name, 1, {
    upgrade(db, _old, _new, tx) {
      db.createObjectStore('photos', { keyPath: 'id' })
      void upgradeFerryStores(db, tx)
    },
  })
  const queue = createQueue({ store: idbStore({ open: () => db }) })
  try {
    await queue.counts()
    const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
    const ids = (await Promise.all(Array.from({ length: 300 }, (_, i) => queue.dispatch(job(i % 2 === 0 ? 'x' : 'y', i), { tx })))).map((r) => r.id)
    await tx.done
    const jobs = await queue.listJobs({ state: 'waiting', limit: 1000 })
    expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort())
    expect((await queue.listJobs({ limit: 1000 })).length).toBe(300)
    expect((await queue.listJobs({ type: 'x', limit: 1000 })).length).toBe(150)
    // Dispatch order is the order of the calls.
    expect(jobs.map((j) => j.id)).toEqual(ids)
    // A dispatch made afterwards comes after all of them.
    const { id: later } = await queue.dispatch(job('x', 'later'))
    expect((await queue.listJobs({ limit: 1000 })).at(-1)?.id).toBe(later)
  } finally {
    await queue.close({ timeoutMs: 100 })
    db.close()
    await deleteDB(name)
  }
})
