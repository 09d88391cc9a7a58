import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../../src/index.js'
import { StorageError, StorageFullError } from '../../../src/core/errors.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { setVfsFault } from '../../../src/storage/wasm-sqlite/node-vfs.js'
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
  for (const p of faulted.splice(0)) setVfsFault(p, undefined)
})

const integrity = (store: SqliteStore): Promise<unknown> => store.transaction((tx) => tx.query('PRAGMA integrity_check'))

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
    const again = sqliteStore({ path })
    expect((await again.listJobs({}, 1000)).map((j) => j.id)).toEqual([kept.id, later.id])
    await again.close()
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
