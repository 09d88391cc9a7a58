import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../../src/index.js'
import { StorageError, StorageFullError } from '../../../src/core/errors.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { setVfsFault, setVfsTrace } from '../../../src/storage/wasm-sqlite/node-vfs.js'
import { newJob } from '../../../src/testing/contract/harness.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
const SQLITE_FULL = 13
const SQLITE_IOERR_WRITE = 778
const faulted: string[] = []

function fault(path: string, rc: number | undefined): void {
  setVfsFault(path, rc)
  faulted.push(path)
}

afterEach(() => {
  setVfsTrace(undefined)
  for (const p of faulted.splice(0)) setVfsFault(p, undefined)
})

const integrity = (store: SqliteStore): Promise<unknown> => store.transaction((tx) => tx.query('PRAGMA integrity_check'))

/** Opens the file again in a fresh store: it passes `PRAGMA integrity_check` and holds exactly `ids`, payloads intact. */
async function checkReopened(path: string, ids: string[], payloads?: Map<string, unknown>): Promise<void> {
  const fresh = sqliteStore({ path })
  try {
    expect(await integrity(fresh)).toEqual([{ integrity_check: 'ok' }])
    const jobs = await fresh.listJobs({ limit: 10_000 }, 1000)
    expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort())
    for (const j of jobs) if (payloads?.has(j.id)) expect(j.payload, j.id).toEqual(payloads.get(j.id))
  } finally {
    await fresh.close()
  }
}

/** A payload of `n` characters that do not compress away, different for each `seed`. */
const bulky = (n: number, seed: number): string => {
  let s = ''
  let x = seed * 2654435761
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) | 0
    s += (x >>> 0).toString(36)
  }
  return s.slice(0, n)
}

describe('a full disk and I/O errors under the Node file store', () => {
  it('rejects a write on a full disk with StorageFullError, writes nothing, and works again once there is room', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    const kept = newJob()
    await store.insert({ now: 1000, jobs: [kept] })
    fault(path, SQLITE_FULL)
    const lost = newJob()
    const err = await store.insert({ now: 1000, jobs: [lost] }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageFullError)
    expect(err).toMatchObject({ code: 'STORAGE_FULL' })
    expect((err as Error).message).toMatch(/full/)
    // Reads still work while writes fail.
    expect((await store.getJob(kept.id))?.state).toBe('waiting')
    fault(path, undefined)
    const later = newJob()
    await store.insert({ now: 1000, jobs: [later] })
    expect(await store.getJob(lost.id)).toBeUndefined()
    expect((await store.listJobs({}, 1000)).map((j) => j.id)).toEqual([kept.id, later.id])
    expect(await integrity(store)).toEqual([{ integrity_check: 'ok' }])
    await store.close()
    await checkReopened(path, [kept.id, later.id])
  })

  it('fails a transaction that runs out of room halfway through its WAL frames: nothing of it stays, the file is whole when opened again', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    const payloads = new Map<string, unknown>()
    const kept = Array.from({ length: 5 }, (_, i) => newJob({ payload: bulky(2000, i) }))
    for (const j of kept) payloads.set(j.id, j.payload)
    await store.insert({ now: 1000, jobs: kept })
    // A transaction of many pages; the disk fills after its tenth WAL write.
    let walWrites = 0
    setVfsTrace((call, file) => {
      if (call === 'write' && file.endsWith('-wal') && ++walWrites === 10) fault(path, SQLITE_FULL)
    })
    const big = Array.from({ length: 40 }, (_, i) => newJob({ payload: bulky(8000, 100 + i) }))
    const err = await store.insert({ now: 1000, jobs: big }).then(() => undefined, (e: unknown) => e)
    setVfsTrace(undefined)
    expect(err).toBeInstanceOf(StorageFullError)
    expect(walWrites).toBeGreaterThanOrEqual(10)
    expect(await store.counts(1000)).toMatchObject({ waiting: kept.length })
    for (const j of big.slice(0, 3)) expect(await store.getJob(j.id)).toBeUndefined()
    setVfsFault(path, undefined)
    const later = newJob({ payload: bulky(2000, 99) })
    payloads.set(later.id, later.payload)
    await store.insert({ now: 1000, jobs: [later] })
    expect(await integrity(store)).toEqual([{ integrity_check: 'ok' }])
    await store.close()
    await checkReopened(path, [...kept, later].map((j) => j.id), payloads)
  })

  it('keeps every commit when the disk fills during a checkpoint: the file is whole when opened again', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    const payloads = new Map<string, unknown>()
    const first = newJob()
    await store.insert({ now: 1000, jobs: [first] })
    const stored: string[] = [first.id]
    // Past creating the file, in WAL mode only a checkpoint writes the database file: the disk
    // fills at its first page.
    let checkpointed = false
    setVfsTrace((call, file) => {
      if (call === 'write' && file === path && !checkpointed) {
        checkpointed = true
        fault(path, SQLITE_FULL)
      }
    })
    // Commits until one is followed by a checkpoint (SQLite checkpoints once the WAL passes 1,000 pages).
    for (let round = 0; round < 200 && !checkpointed; round++) {
      const jobs = Array.from({ length: 10 }, (_, i) => newJob({ payload: bulky(4000, round * 10 + i) }))
      const ok = await store.insert({ now: 1000, jobs }).then(() => true, () => false)
      if (ok) for (const j of jobs) {
        stored.push(j.id)
        payloads.set(j.id, j.payload)
      }
    }
    setVfsTrace(undefined)
    expect(checkpointed).toBe(true)
    expect(stored.length).toBeGreaterThan(1)
    // Reads go on; once there is room, so do writes.
    expect(await store.counts(1000)).toMatchObject({ waiting: stored.length })
    setVfsFault(path, undefined)
    const later = newJob()
    await store.insert({ now: 1000, jobs: [later] })
    stored.push(later.id)
    expect(await integrity(store)).toEqual([{ integrity_check: 'ok' }])
    await store.close()
    await checkReopened(path, stored, payloads)
  })

  it('reports other I/O errors as StorageError (not full)', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.open()
    fault(path, SQLITE_IOERR_WRITE)
    const err = await store.insert({ now: 1000, jobs: [newJob()] }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).not.toBeInstanceOf(StorageFullError)
    expect(err).toMatchObject({ code: 'STORAGE' })
    fault(path, undefined)
    await store.insert({ now: 1000, jobs: [newJob()] })
    expect(await integrity(store)).toEqual([{ integrity_check: 'ok' }])
    await store.close()
  })

  it('keeps the engine running through a full disk: dispatch fails, settling is retried, the job finishes once there is room', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    const queue = createQueue({ store })
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    queue.register('t', async () => {
      await gate
      return 'done'
    })
    await queue.start()
    const { id } = await queue.dispatch(job('t', {}))
    await expect.poll(async () => (await queue.getJob(id))?.state).toBe('active')
    fault(path, SQLITE_FULL)
    await expect(queue.dispatch(job('t', {}))).rejects.toBeInstanceOf(StorageFullError)
    release()
    await expect.poll(() => events.some((e) => e.kind === 'queue:error')).toBe(true)
    expect((await queue.getJob(id))?.state).toBe('active')
    fault(path, undefined)
    await expect.poll(async () => (await queue.getJob(id))?.state, { timeout: 10_000 }).toBe('succeeded')
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, succeeded: 1 })
    await queue.close()
  })
})
