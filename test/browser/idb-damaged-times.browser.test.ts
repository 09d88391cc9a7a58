import { deleteDB } from 'idb'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { STORES } from '../../src/storage/idb/schema.js'
import type { SettleAndClaimInput, SettleAndClaimOutcome, Store } from '../../src/core/store.js'

const names = new Set<string>()
afterAll(async () => {
  await Promise.all([...names].map((name) => deleteDB(name)))
})

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Changes every record of one object store with raw IndexedDB, the queue closed. */
async function damage(name: string, store: string, change: (rec: Record<string, unknown>) => void): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const r = indexedDB.open(name)
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('open failed'))
  })
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(store, 'readwrite')
    const os = tx.objectStore(store)
    const r = os.getAll()
    r.onsuccess = () => {
      for (const rec of r.result as Record<string, unknown>[]) {
        change(rec)
        os.put(rec)
      }
    }
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error ?? new Error('write failed'))
  })
  db.close()
}

/** An IndexedDB store whose every wake-up time handed to the engine is kept in `wakes`. */
function watched(name: string): { store: Store; wakes: (number | undefined)[] } {
  const store: Store = idbStore({ name })
  const wakes: (number | undefined)[] = []
  const settleAndClaim = store.settleAndClaim.bind(store)
  store.settleAndClaim = async (input: SettleAndClaimInput): Promise<SettleAndClaimOutcome> => {
    const out = await settleAndClaim(input)
    wakes.push(out.nextWakeAt)
    return out
  }
  return { store, wakes }
}

describe('an IndexedDB record whose time is not a number', { timeout: 30_000 }, () => {
  it('a delayed job whose runAt is text is failed CORRUPT_RECORD; no wake-up time is NaN', async () => {
    const name = `ferry-runat-text-${Math.random().toString(36).slice(2)}`
    names.add(name)
    let queue = createQueue({ store: idbStore({ name }) })
    const { id } = await queue.dispatch(job('a', {}).delay(300))
    await queue.close()
    await damage(name, STORES.jobs, (rec) => {
      if (rec['id'] === id) rec['runAt'] = 'soon'
    })
    const { store, wakes } = watched(name)
    queue = createQueue({ store })
    const ran: string[] = []
    for (const t of ['a', 'b']) queue.register(t, async () => void ran.push(t))
    try {
      await queue.start()
      await until(async () => (await queue.getJob(id))?.state === 'failed', 'the job to fail')
      expect((await queue.getJob(id))?.error).toMatchObject({ code: 'CORRUPT_RECORD' })
      await queue.dispatch(job('b', {}).delay(100))
      await until(() => ran.includes('b'), 'a later delayed job to run')
      expect(ran).not.toContain('a')
    } finally {
      await queue.close()
    }
    expect(wakes.length).toBeGreaterThan(0)
    expect(wakes.filter((w) => w !== undefined && !Number.isFinite(w))).toEqual([])
  })

  it('a schedule whose nextRunAt is text is listed unreadable and never fires; no wake-up time is NaN', async () => {
    const name = `ferry-next-text-${Math.random().toString(36).slice(2)}`
    names.add(name)
    let queue = createQueue({ store: idbStore({ name }) })
    await queue.schedule('broken', { every: 60_000 }, job('s', {}))
    await queue.close()
    await damage(name, STORES.schedules, (rec) => {
      rec['nextRunAt'] = 'later'
    })
    const { store, wakes } = watched(name)
    queue = createQueue({ store })
    const ran: string[] = []
    for (const t of ['s', 'b']) queue.register(t, async () => void ran.push(t))
    try {
      await queue.start()
      await queue.dispatch(job('b', {}).delay(100))
      await until(() => ran.includes('b'), 'a delayed job to run')
      const [broken] = await queue.listSchedules()
      expect(broken?.unreadable).toMatchObject({ code: 'CORRUPT_RECORD' })
      expect(ran).not.toContain('s')
    } finally {
      await queue.close()
    }
    expect(wakes.filter((w) => w !== undefined && !Number.isFinite(w))).toEqual([])
  })
})

describe('an IndexedDB batch record damaged once its jobs have all finished', { timeout: 30_000 }, () => {
  /** A batch of `n` that has run, then its record left running and damaged. */
  async function finishedThenDamaged(name: string, n: number): Promise<string> {
    names.add(name)
    const queue = createQueue({ store: idbStore({ name }) })
    queue.register('c', async () => undefined)
    const batchId = await queue.batch(...Array.from({ length: n }, (_, i) => job('c', { i }))).dispatch()
    await queue.start()
    await until(async () => (await queue.counts()).succeeded === n, 'the batch to finish')
    await queue.close()
    await damage(name, STORES.batches, (rec) => {
      rec['state'] = 'running'
      rec['total'] = 'x'
      delete rec['finishedAt']
    })
    return batchId
  }

  it('is deleted whole by prune', async () => {
    const name = `ferry-damaged-prune-${Math.random().toString(36).slice(2)}`
    const batchId = await finishedThenDamaged(name, 20)
    const store = idbStore({ name })
    const queue = createQueue({ store })
    try {
      await expect(queue.findBatch(batchId)).rejects.toMatchObject({ code: 'CORRUPT_RECORD' })
      await store.prune({ before: Date.now() + 60_000 })
      expect(await queue.listJobs({ limit: 100 })).toEqual([])
      await expect(queue.findBatch(batchId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    } finally {
      await queue.close()
    }
  })

  it('is deleted whole by retention', async () => {
    const name = `ferry-damaged-retain-${Math.random().toString(36).slice(2)}`
    const batchId = await finishedThenDamaged(name, 450)
    const queue = createQueue({ store: idbStore({ name }), retention: { succeeded: { count: 0 } } })
    queue.register('c', async () => undefined)
    try {
      await queue.start()
      for (let i = 0; i < 20; i++) await queue.dispatch(job('c', { later: i }))
      await until(async () => (await queue.counts()).succeeded === 0 && (await queue.counts()).waiting === 0, 'every finished job to be deleted')
      await expect(queue.findBatch(batchId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    } finally {
      await queue.close()
    }
  })
})
