/**
 * A real QuotaExceededError: a storage bucket with a tiny quota holds the application's
 * database, with ferry's stores in it.
 */
import { wrap, type IDBPDatabase } from 'idb'
import { expect, it } from 'vitest'
import { StorageFullError, createQueue, job, type QueueEvent } from '../../src/index.js'
import { idbStore, upgradeFerryStores } from '../../src/storage/idb/index.js'

interface StorageBucket {
  indexedDB: IDBFactory
}
declare global {
  interface Navigator {
    storageBuckets: { open(name: string, o?: { quota?: number }): Promise<StorageBucket>; delete(name: string): Promise<void> }
  }
}

async function openInBucket(bucket: StorageBucket): Promise<IDBPDatabase> {
  const req = bucket.indexedDB.open('app', 1)
  req.addEventListener('upgradeneeded', () => {
    req.result.createObjectStore('filler')
    void upgradeFerryStores(req.result, req.transaction as IDBTransaction)
  })
  return (await wrap(req)) as IDBPDatabase
}

/** Bytes that do not compress, so they count against the quota in full. */
const noise = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65_536)))
  return out
}

it('turns a real QuotaExceededError into StorageFullError, writes nothing, and the engine goes on once there is room', async () => {
  const name = `ferry-quota-${Date.now()}`
  const bucket = await navigator.storageBuckets.open(name, { quota: 1_000_000 })
  const db = await openInBucket(bucket)
  const queue = createQueue({ store: idbStore({ open: () => db }) })
  const events: QueueEvent[] = []
  queue.events.subscribe((e) => events.push(e))
  try {
    const { id: small } = await queue.dispatch(job('small', 1))
    // The application's own data fills the bucket, to the last few bytes: smaller and smaller
    // pieces until even the smallest does not fit.
    let key = 0
    for (const size of [50_000, 5_000, 500, 50]) {
      for (let i = 0; i < 100; i++) {
        const failed = await db.put('filler', noise(size), key++).then(() => false, () => true)
        if (failed) break
      }
    }
    const before = await queue.counts()
    const err = await queue.dispatch(job('big', noise(200_000))).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StorageFullError)
    expect(err).toMatchObject({ code: 'STORAGE_FULL' })
    expect(await queue.counts()).toEqual(before)

    // The engine reports the full disk and keeps trying; once the app frees space, it runs.
    queue.register('small', () => 'ran')
    await queue.start()
    // The engine's own writes (the claim) fail while the bucket is full: it says so.
    await expect.poll(() => events.filter((e) => e.kind === 'queue:error').length, { timeout: 20_000 }).toBeGreaterThan(0)
    expect((await queue.getJob(small))?.state).not.toBe('succeeded')
    await db.clear('filler')
    await expect.poll(async () => (await queue.getJob(small))?.state, { timeout: 20_000 }).toBe('succeeded')
    const errors = events.flatMap((e) => (e.kind === 'queue:error' ? [e.error] : []))
    expect(errors.length).toBeGreaterThan(0)
    for (const error of errors) expect(error).toMatchObject({ name: 'StorageFullError', code: 'STORAGE_FULL' })
  } finally {
    await queue.close({ timeoutMs: 100 })
    db.close()
    await navigator.storageBuckets.delete(name)
  }
}, 60_000)
