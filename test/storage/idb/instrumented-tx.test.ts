import 'fake-indexeddb/auto'
import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { createQueue, job, type Instrumentation, type QueueEvent } from '../../../src/index.js'
import { ferryStoreNames, idbStore, upgradeFerryStores } from '../../../src/storage/idb/index.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("a dispatch in the application's IndexedDB transaction, with an aroundDispatch that awaits before run", () => {
  it('is written with the application\'s record before the transaction commits, and the fault is reported', async () => {
    const db = await openDB(`app-instrumented-${Date.now()}`, 1, {
      upgrade(d, _old, _new, tx) {
        d.createObjectStore('photos', { keyPath: 'id' })
        void upgradeFerryStores(d, tx)
      },
    })
    const late: Instrumentation = {
      async aroundDispatch(_call, run) {
        await sleep(10)
        return run()
      },
    }
    const queue = createQueue({ store: idbStore({ open: () => db }), instrumentation: [late] })
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))

    const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
    await tx.objectStore('photos').put({ id: 'p1' })
    const { id, duplicate } = await queue.dispatch(job('photo:upload', { id: 'p1' }), { tx })
    await tx.done
    expect(duplicate).toBe(false)
    expect(await db.get('photos', 'p1')).toEqual({ id: 'p1' })
    expect((await queue.getJob(id))?.state).toBe('waiting')
    const errors = events.flatMap((e) => (e.kind === 'queue:error' ? [e.error.message] : []))
    expect(errors).toEqual([expect.stringContaining('without calling run')])
    await queue.close()
    db.close()
  })
})
