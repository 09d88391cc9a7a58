import { describe, expect, it } from 'vitest'
import { StoreLockedError, deserializeError, job, type SerializedError } from '../../src/index.js'
import { shareQueue } from '../../src/workers/index.js'

interface Reply {
  ready?: boolean
  id?: number
  ok?: boolean
  result?: unknown
  error?: SerializedError
  cause?: SerializedError
}

/** One worker of the failover test, and a way to call it. */
class Host {
  readonly worker = new Worker(new URL('./sqlite-opfs-failover.worker.ts', import.meta.url), { type: 'module' })
  readonly ready: Promise<void>
  #next = 0
  #pending = new Map<number, (r: Reply) => void>()

  constructor() {
    this.ready = new Promise((resolve, reject) => {
      this.worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`))
      this.worker.onmessage = (e: MessageEvent<Reply>) => {
        if (e.data.ready) return resolve()
        this.#pending.get(e.data.id ?? -1)?.(e.data)
        this.#pending.delete(e.data.id ?? -1)
      }
    })
  }

  async call(msg: Record<string, unknown>): Promise<unknown> {
    await this.ready
    const id = ++this.#next
    const reply = await new Promise<Reply>((resolve) => {
      this.#pending.set(id, resolve)
      this.worker.postMessage({ ...msg, id })
    })
    if (reply.ok) return reply.result
    const err = deserializeError(reply.error as SerializedError)
    if (reply.cause) err.message += ` (cause: ${reply.cause.name}: ${reply.cause.message})`
    throw err
  }

  /** The jobs the worker's store holds, or what went wrong opening it. */
  async openAndCount(path: string): Promise<number | string> {
    try {
      await this.call({ kind: 'open', path })
      return (await this.call({ kind: 'count' })) as number
    } catch (err) {
      return `${(err as Error).name}: ${(err as Error).message}`
    }
  }
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('a new host worker on an OPFS SQLite file still held by the old one (Chromium)', () => {
  it('waits for the old worker to go, then opens the file with every job in it', async () => {
    const path = `failover-${Date.now()}.db`
    const moments = [0, 5, 20, 50, 100, 200, 400, 800]
    const rounds = 16
    let expected = 20
    let old = new Host()
    expect(await old.openAndCount(path)).toBe(0)
    await old.call({ kind: 'add', count: expected })
    const seen: { round: number; next: number | string; fresh?: number | string }[] = []
    try {
      for (let round = 0; round < rounds; round++) {
        const next = new Host()
        await next.call({ kind: 'load' })
        const opening = next.openAndCount(path)
        // The old worker goes at a different moment each round, from at once to well after
        // the new one has found the file held.
        await tick(moments[round % moments.length] ?? 0)
        old.worker.terminate()
        const got = await opening
        if (got !== expected) {
          // Whatever the new worker saw, a fresh one says what is left on disk.
          next.worker.terminate()
          const fresh = new Host()
          seen.push({ round, next: got, fresh: await fresh.openAndCount(path) })
          old = fresh
        } else {
          seen.push({ round, next: got })
          old = next
        }
        await old.call({ kind: 'add', count: 5 })
        expected += 5
      }
      expect(seen).toEqual(Array.from({ length: rounds }, (_, i) => ({ round: i, next: 20 + 5 * i })))
      old.worker.terminate()
      const last = new Host()
      old = last
      expect(await last.openAndCount(path)).toBe(expected)
      await last.call({ kind: 'drop' })
    } finally {
      old.worker.terminate()
    }
  }, 300_000)

  it('refuses with StoreLockedError while the old worker stays, keeps its jobs, and opens once it goes', async () => {
    const path = `refused-${Date.now()}.db`
    const old = new Host()
    const next = new Host()
    try {
      await old.call({ kind: 'open', path })
      await old.call({ kind: 'add', count: 30 })
      const refused = await next.call({ kind: 'open', path }).then(() => undefined, (err: unknown) => err)
      expect(refused).toBeInstanceOf(StoreLockedError)
      expect((refused as Error).message).toMatch(/in use by another tab or worker/)
      // The refusal left the old worker's database alone and is not remembered by the new one.
      expect(await old.call({ kind: 'count' })).toBe(30)
      old.worker.terminate()
      expect(await next.openAndCount(path)).toBe(30)
      await next.call({ kind: 'drop' })
    } finally {
      old.worker.terminate()
      next.worker.terminate()
    }
  }, 120_000)

  it('lets a shared queue whose host found the files held serve once they are free', async () => {
    const path = `shared-held-${Date.now()}.db`
    const holder = new Host()
    await holder.call({ kind: 'open', path: `holder-${path}` })
    const q = shareQueue({ name: path, worker: () => new Worker(new URL('./sqlite-opfs-shared.worker.ts', import.meta.url), { type: 'module', name: path }) })
    try {
      // The host's worker waits OPFS_WAIT_MS for the files, then gives up.
      const refused = await q.counts().then(() => undefined, (err: unknown) => err)
      expect(refused).toBeInstanceOf(StoreLockedError)
      await holder.call({ kind: 'drop' })
      holder.worker.terminate()
      // The host starts a fresh worker, which opens the files now free.
      const { id } = await q.dispatch(job('x', {}))
      await expect.poll(async () => (await q.getJob(id))?.state, { timeout: 30_000 }).toBe('succeeded')
      expect(q.isHost).toBe(true)
    } finally {
      holder.worker.terminate()
      await q.close()
    }
  }, 120_000)
})
