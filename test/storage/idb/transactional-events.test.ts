import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { describe, expect, it, vi } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../../src/index.js'
import { ferryStoreNames, idbStore, upgradeFerryStores } from '../../../src/storage/idb/index.js'

describe('events of a dispatch in the application\'s IndexedDB transaction', () => {
  it('come once the transaction commits, and never when it aborts', async () => {
    const db = await openDB(`app-events-${Date.now()}`, 1, {
      upgrade(d, _old, _new, tx) {
        d.createObjectStore('photos', { keyPath: 'id' })
        void upgradeFerryStores(d, tx)
      },
    })
    const queue = createQueue({ store: idbStore({ open: () => db }) })
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))

    const ok = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
    await ok.objectStore('photos').put({ id: 'p1' })
    const { id } = await queue.dispatch(job('photo:upload', { id: 'p1' }), { tx: ok })
    expect(events).toEqual([])
    await ok.done
    await vi.waitFor(() => expect(events.map((e) => 'jobId' in e && e.jobId)).toEqual([id]))

    const bad = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
    await bad.objectStore('photos').put({ id: 'p2' })
    await queue.dispatch(job('photo:upload', { id: 'p2' }), { tx: bad })
    bad.abort()
    await bad.done.catch(() => undefined)
    // Events come in commit order: once a later dispatch is told, an event of the aborted one
    // would have come before it.
    const { id: after } = await queue.dispatch(job('photo:upload', { id: 'p3' }))
    await vi.waitFor(() => expect(events.map((e) => 'jobId' in e && e.jobId)).toContain(after))
    expect(events.map((e) => 'jobId' in e && e.jobId)).toEqual([id, after])
    expect(await queue.counts()).toMatchObject({ waiting: 2 })
    await queue.close()
    db.close()
  })
})
