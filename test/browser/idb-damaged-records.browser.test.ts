import { deleteDB } from 'idb'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue, job, type Queue } from '../../src/index.js'
import { NEVER } from '../../src/core/damaged.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { STORES } from '../../src/storage/idb/schema.js'
import type { Store } from '../../src/core/store.js'

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

async function raw(name: string, store: string): Promise<unknown[]> {
  const db = await new Promise<IDBDatabase>((resolve) => {
    const r = indexedDB.open(name)
    r.onsuccess = () => resolve(r.result)
  })
  const all = await new Promise<unknown[]>((resolve) => {
    const r = db.transaction(store).objectStore(store).getAll()
    r.onsuccess = () => resolve(r.result)
  })
  db.close()
  return all
}

function target() {
  const name = `ferry-damaged-${Math.random().toString(36).slice(2)}`
  names.add(name)
  const ran: string[] = []
  const open = (): { store: Store; queue: Queue } => {
    const store = idbStore({ name })
    const queue = createQueue({ store })
    for (const t of ['a', 'b', 'c', 's', 'ok']) queue.register(t, async () => void ran.push(t))
    return { store, queue }
  }
  return { name, ran, open }
}

describe('damaged IndexedDB records in Chromium', { timeout: 20_000 }, () => {
  it('a schedule without its job is skipped and listed as unreadable; the engine runs everything else', async () => {
    const t = target()
    let { queue } = t.open()
    await queue.schedule('broken', { every: 200 }, job('s', {}))
    await queue.schedule('fine', { every: 200 }, job('c', {}))
    await queue.close()
    await damage(t.name, STORES.schedules, (rec) => {
      if (rec['name'] === 'broken') rec['job'] = null
    })
    const opened = t.open()
    queue = opened.queue
    try {
      await queue.start()
      await queue.dispatch(job('ok', {}))
      await until(() => t.ran.includes('ok') && t.ran.filter((r) => r === 'c').length >= 2, 'the other jobs to run')
      expect(t.ran).not.toContain('s')
      const broken = (await opened.store.listSchedules()).find((s) => s.name === 'broken') as { unreadable?: { code: string; message: string } }
      expect(broken.unreadable).toMatchObject({ code: 'CORRUPT_RECORD' })
      expect(broken.unreadable!.message).toContain('broken')
      expect((await queue.listSchedules()).map((s) => s.name)).toEqual(['broken', 'fine'])
      // No job without a type was enqueued.
      expect((await queue.listJobs({ limit: 100 })).every((j) => typeof j.type === 'string' && j.type !== '')).toBe(true)
    } finally {
      await queue.close()
    }
    const stored = (await raw(t.name, STORES.schedules)) as Record<string, unknown>[]
    expect(stored.find((s) => s['name'] === 'broken')).toMatchObject({ job: null, nextRunAt: NEVER })
    expect(Object.keys(stored.find((s) => s['name'] === 'broken')!)).not.toContain('unreadable')
    queue = t.open().queue
    try {
      await queue.unschedule('broken')
      expect((await queue.listSchedules()).map((s) => s.name)).toEqual(['fine'])
    } finally {
      await queue.close()
    }
  })

  it('metadata or versions changed by hand: read without throwing, left out, the job failed unread; the others run with theirs', async () => {
    const name = `ferry-damaged-${Math.random().toString(36).slice(2)}`
    names.add(name)
    let queue = createQueue({ store: idbStore({ name }), version: 'v1' })
    const ids: string[] = []
    for (const who of ['a', 'b', 'c']) ids.push((await queue.dispatch(job('m', { who }).meta({ who }))).id)
    const [a, b, c] = ids
    await queue.close()
    await damage(name, STORES.jobs, (rec) => {
      if (rec['id'] === a) rec['meta'] = 'text'
      if (rec['id'] === b) rec['dispatchedBy'] = 42
    })
    const ran: unknown[] = []
    queue = createQueue({ store: idbStore({ name }), version: 'v2' })
    queue.register('m', async (_payload, ctx) => void ran.push(ctx.meta))
    try {
      const readA = await queue.getJob(a as string)
      expect(readA).not.toHaveProperty('meta')
      expect(readA).toMatchObject({ dispatchedBy: 'v1', unreadable: { code: 'CORRUPT_RECORD' } })
      expect(await queue.getJob(b as string)).not.toHaveProperty('dispatchedBy')
      // Listed by the version the index holds; b's record no longer says it.
      expect((await queue.listJobs({ version: 'v1' })).map((j) => j.id)).toEqual([a, c])
      await queue.start()
      await until(async () => (await queue.counts()).waiting === 0 && (await queue.counts()).active === 0, 'every job to settle')
      expect(ran).toEqual([{ who: 'c' }])
      expect(await queue.getJob(a as string)).toMatchObject({ state: 'failed' })
      expect(await queue.getJob(b as string)).toMatchObject({ state: 'failed' })
      expect(await queue.getJob(c as string)).toMatchObject({ state: 'succeeded', dispatchedBy: 'v1', processedBy: 'v2', meta: { who: 'c' } })
    } finally {
      await queue.close()
    }
  })

  it('a damaged chain or batch: its jobs still settle, the engine goes on, finding it is a CORRUPT_RECORD error', async () => {
    const t = target()
    let { queue } = t.open()
    const chainId = await queue.chain(job('a', {}).delay(300), job('b', {})).dispatch()
    const batchId = await queue.batch(job('c', {}).delay(300)).dispatch()
    await queue.close()
    await damage(t.name, STORES.chains, (rec) => void (rec['jobIds'] = null))
    await damage(t.name, STORES.batches, (rec) => {
      rec['total'] = 'x'
      rec['callbacks'] = null
    })
    queue = t.open().queue
    try {
      await queue.start()
      await until(() => t.ran.includes('a') && t.ran.includes('c'), 'the step and the member to run')
      await queue.dispatch(job('ok', {}))
      await until(async () => (await queue.counts()).succeeded === 3, 'the step, the member and a later job to settle')
      expect(t.ran).not.toContain('b')
      expect((await queue.counts()).blocked).toBe(1)
      for (const [find, id] of [[() => queue.findChain(chainId), chainId], [() => queue.findBatch(batchId), batchId]] as const) {
        const err = await find().then(() => undefined, (e: unknown) => e as { name: string; code: string; message: string })
        expect(err).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD' })
        expect(err!.message).toContain(id)
      }
    } finally {
      await queue.close()
    }
    expect(await raw(t.name, STORES.chains)).toMatchObject([{ id: chainId, jobIds: null }])
    expect(await raw(t.name, STORES.batches)).toMatchObject([{ id: batchId, total: 'x', callbacks: null }])
  })
})
