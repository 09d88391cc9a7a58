import { deleteDB, openDB } from 'idb'
import { afterAll, expect, it } from 'vitest'
import { InvalidArgumentError, createQueue, encryptedCodec, job, type QueueEvent } from '../../src/index.js'
import { ferryStoreNames, idbStore, upgradeFerryStores } from '../../src/storage/idb/index.js'
import { STORES } from '../../src/storage/idb/schema.js'
import { connectQueue } from '../../src/workers/index.js'
import { aesKey, codecScenarios, corruptRecordScenarios, until } from '../core/codec-scenarios.js'

const names: string[] = []
const fresh = (): string => {
  const name = `ferry-codec-${names.length}-${Math.random().toString(36).slice(2)}`
  names.push(name)
  return name
}

/** Every record of every object store of the database, read without ferry, as JSON. */
async function dump(name: string): Promise<string> {
  const db = await openDB(name)
  try {
    const all: unknown[] = []
    for (const store of db.objectStoreNames) all.push(await db.getAll(store))
    return JSON.stringify(all)
  } finally {
    db.close()
  }
}

codecScenarios('IndexedDB (Chromium)', () => {
  const name = fresh()
  return { open: () => idbStore({ name }), raw: () => dump(name) }
})

corruptRecordScenarios('IndexedDB (Chromium)', () => {
  const name = fresh()
  return {
    open: () => idbStore({ name }),
    raw: () => dump(name),
    async corrupt(id) {
      const db = await openDB(name)
      try {
        const record = (await db.get(STORES.jobs, id)) as Record<string, unknown>
        // Still in the claim index, but no longer a job the engine can run.
        delete record['attempt']
        record['maxAttempts'] = 'three'
        await db.put(STORES.jobs, record)
      } finally {
        db.close()
      }
    },
  }
})

it('decodes, in commit order, the events another context commits', async () => {
  const name = fresh()
  const key = await aesKey()
  const worker = createQueue({ store: idbStore({ name }), codec: encryptedCodec(key) })
  const watcher = createQueue({ store: idbStore({ name }), codec: encryptedCodec(key) })
  try {
    const heard: QueueEvent[] = []
    watcher.events.subscribe((e) => heard.push(e))
    worker.register('e:count', async (p: unknown, ctx) => {
      for (let i = 1; i <= 5; i++) await ctx.progress({ step: i })
      return { counted: p }
    })
    await worker.start()
    const { id } = await worker.dispatch(job('e:count', { upTo: 5 }))
    await until(async () => heard.some((e) => e.kind === 'job:succeeded'), 'the watcher hears the job succeed')
    const mine = heard.filter((e) => 'jobId' in e && e.jobId === id && (e.kind === 'job:progress' || e.kind === 'job:succeeded'))
    expect(mine.map((e) => (e.kind === 'job:progress' ? e.progress : e.kind === 'job:succeeded' ? e.result : undefined))).toEqual([
      { step: 1 },
      { step: 2 },
      { step: 3 },
      { step: 4 },
      { step: 5 },
      { counted: { upTo: 5 } },
    ])
  } finally {
    await worker.close({ timeoutMs: 100 })
    await watcher.close({ timeoutMs: 100 })
  }
})

it('refuses to dispatch into an IndexedDB transaction, which an encoding await would commit', async () => {
  const name = fresh()
  const db = await openDB(name, 1, {
    upgrade(d, _o, _n, tx) {
      d.createObjectStore('photos', { keyPath: 'id' })
      void upgradeFerryStores(d, tx)
    },
  })
  const queue = createQueue({ store: idbStore({ open: () => db }), codec: encryptedCodec(await aesKey()) })
  try {
    const tx = db.transaction(['photos', ...ferryStoreNames], 'readwrite')
    await expect(queue.dispatch(job('t', { secret: 1 }), { tx })).rejects.toThrow(InvalidArgumentError)
    tx.abort()
    await tx.done.catch(() => undefined)
    expect(await queue.listJobs()).toEqual([])
  } finally {
    await queue.close({ timeoutMs: 100 })
    db.close()
  }
})

it('round-trips through a queue hosted in a worker, and stores no plaintext', async () => {
  names.push('ferry-codec-worker')
  const worker = new Worker(new URL('./fixtures/codec.worker.ts', import.meta.url), { type: 'module' })
  const client = connectQueue(worker)
  try {
    const heard: QueueEvent[] = []
    client.events.subscribe((e) => heard.push(e))
    const { id } = await client.dispatch(job('greet', { name: 'NAME-SECRET' }))
    const done = await until(async () => {
      const j = await client.getJob(id)
      return j?.state === 'succeeded' && j
    }, 'the worker runs the job', 20_000)
    expect(done).toMatchObject({ payload: { name: 'NAME-SECRET' }, result: 'RESULT-SECRET for NAME-SECRET', progress: { greeting: 'PROGRESS-SECRET for NAME-SECRET' } })
    expect(heard).toContainEqual(expect.objectContaining({ kind: 'job:succeeded', jobId: id, result: 'RESULT-SECRET for NAME-SECRET' }))
    const raw = await dump('ferry-codec-worker')
    expect(raw).toContain(id)
    expect(raw).not.toContain('SECRET')
  } finally {
    await client.close()
    worker.terminate()
  }
}, 30_000)

it('works with a non-extractable key kept in IndexedDB, as a page keeps it across reloads', async () => {
  const keys = fresh()
  const keyOf = async (): Promise<CryptoKey> => {
    const db = await openDB(keys, 1, { upgrade: (d) => void d.createObjectStore('keys') })
    try {
      let key = (await db.get('keys', 'ferry')) as CryptoKey | undefined
      if (!key) {
        key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
        await db.put('keys', key, 'ferry')
      }
      return key
    } finally {
      db.close()
    }
  }
  const name = fresh()
  const before = createQueue({ store: idbStore({ name }), codec: encryptedCodec(await keyOf()) })
  const { id } = await before.dispatch(job('kept', { note: 'KEPT-SECRET' }))
  await before.close()
  const key = await keyOf()
  expect(key.extractable).toBe(false)
  const after = createQueue({ store: idbStore({ name }), codec: encryptedCodec(key) })
  try {
    expect((await after.getJob(id))?.payload).toEqual({ note: 'KEPT-SECRET' })
    expect(await dump(name)).not.toContain('KEPT-SECRET')
  } finally {
    await after.close()
  }
})

it('marks a failed job whose stored error is plain text unreadable, with or without a codec, and reads the others', async () => {
  for (const codec of [undefined, encryptedCodec(await aesKey())]) {
    const name = fresh()
    const queue = createQueue({ store: idbStore({ name }), ...(codec ? { codec } : {}) })
    try {
      queue.register('p:fail', () => {
        throw new Error('it failed')
      })
      const bad = await queue.dispatch(job('p:fail', {}).retry(0))
      const ok = await queue.dispatch(job('p:fail', {}).retry(0))
      await queue.start()
      await until(async () => (await queue.getJob(bad.id))?.state === 'failed' && (await queue.getJob(ok.id))?.state === 'failed', 'the jobs fail')
      await queue.stop()
      const db = await openDB(name)
      try {
        const record = (await db.get(STORES.jobs, bad.id)) as Record<string, unknown>
        record['error'] = 'plain text, not an error'
        await db.put(STORES.jobs, record)
      } finally {
        db.close()
      }
      const read = await queue.getJob(bad.id)
      expect(read).toMatchObject({ state: 'failed', unreadable: { name: 'SerializationError', code: 'CORRUPT_RECORD' } })
      expect(read?.unreadable?.message).toMatch(/error/)
      expect(read).not.toHaveProperty('error')
      expect((await queue.listJobs({ state: 'failed' })).find((j) => j.id === bad.id)?.unreadable).toMatchObject({ code: 'CORRUPT_RECORD' })
      expect(await queue.getJob(ok.id)).toMatchObject({ state: 'failed', error: { message: 'it failed' } })
      expect((await queue.getJob(ok.id))?.unreadable).toBeUndefined()
    } finally {
      await queue.close({ timeoutMs: 100 })
    }
  }
})

afterAll(async () => {
  await Promise.all(names.map((name) => deleteDB(name)))
})
