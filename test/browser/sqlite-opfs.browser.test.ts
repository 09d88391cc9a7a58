import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SerializationError, deserializeError, type BatchState, type ChainState, type Counts, type SerializedError, type Store } from '../../src/index.js'
import { StoreLockedError } from '../../src/core/errors.js'
import { storeContract } from '../../src/testing/index.js'
import { checkStorable } from '../../src/core/storable.js'

/** The worker that hosts the OPFS stores, and a way to call it. */
let worker: Worker
let next = 0
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>()

function call(msg: Record<string, unknown>): Promise<unknown> {
  const id = ++next
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject })
    try {
      worker.postMessage({ ...msg, id })
    } catch (err) {
      pending.delete(id)
      // A function or a symbol cannot even reach the worker: what a store would say of it.
      reject(new SerializationError(`cannot send this value to the worker: ${(err as Error).message}`, { cause: err }))
    }
  })
}

beforeAll(async () => {
  worker = new Worker(new URL('./sqlite-opfs.worker.ts', import.meta.url), { type: 'module' })
  await new Promise<void>((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`))
    worker.onmessage = (e: MessageEvent<{ ready?: boolean; id?: number; ok?: boolean; result?: unknown; error?: SerializedError }>) => {
      if (e.data.ready) return resolve()
      const p = pending.get(e.data.id ?? -1)
      if (!p) return
      pending.delete(e.data.id ?? -1)
      if (e.data.ok) p.resolve(e.data.result)
      else p.reject(deserializeError(e.data.error as SerializedError))
    }
  })
})

afterAll(() => worker.terminate())

interface ScenarioOut {
  inWorker: boolean
  ran: number
  single: string
  delayed: string
  chain: ChainState
  batch: BatchState
  lastStep: unknown
  counts: Counts
  journal: unknown
  dispatchPerSec: number
}

let stores = 0
/** A Store whose every call runs on a fresh OPFS database in the worker. */
async function opfsStoreProxy(): Promise<Store> {
  const path = `contract-${Date.now()}-${++stores}.db`
  await call({ kind: 'open', path })
  const methods = ['insert', 'settleAndClaim', 'renew', 'progress', 'cancel', 'replay', 'replayGroup', 'prune', 'putSchedule', 'deleteSchedule',
    'listSchedules', 'getJob', 'listJobs', 'counts', 'getChain', 'getBatch', 'close'] as const
  const proxy: Record<string, (...args: unknown[]) => Promise<unknown>> = {}
  for (const m of methods) proxy[m] = (...args: unknown[]) => call({ kind: 'call', store: path, method: m, args })
  // A message drops what structured cloning ignores (a symbol key, a Map's own property) before
  // the worker's store could refuse it: the page refuses it first, as every store does.
  const insert = proxy['insert'] as (...args: unknown[]) => Promise<unknown>
  proxy['insert'] = (...args: unknown[]) => {
    try {
      for (const j of (args[0] as { jobs: { payload: unknown; type: string }[] }).jobs) checkStorable(j.payload, 'payload', `job (${j.type})`)
    } catch (err) {
      return Promise.reject(err)
    }
    return insert(...args)
  }
  return proxy as unknown as Store
}

describe('sqliteStore on OPFS in a dedicated Worker (Chromium)', () => {
  it('runs jobs, a chain and a batch, and finds them all again after reopening the file', async () => {
    const out = (await call({ kind: 'scenario', path: `scenario-${Date.now()}.db` })) as ScenarioOut
    expect(out.inWorker).toBe(true)
    expect(out.ran).toBe(8)
    expect(out.single).toBe('succeeded')
    expect(out.delayed).toBe('succeeded')
    expect(out.chain).toMatchObject({ state: 'succeeded', current: 2 })
    expect(out.chain.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    expect(out.batch).toMatchObject({ state: 'succeeded', total: 2, succeeded: 2, pending: 0 })
    expect(out.lastStep).toEqual({ type: 'step', previous: { type: 'step', previous: { type: 'step', previous: null } } })
    expect(out.counts).toMatchObject({ succeeded: 8, waiting: 0, active: 0, failed: 0 })
    expect(out.journal).toEqual({ journal_mode: 'wal' })
    console.info(`OPFS: ${out.dispatchPerSec} dispatches/s one at a time`)
  })
})

describe('a second worker of the same origin', () => {
  it('is refused with StoreLockedError while the first one holds the OPFS pool', async () => {
    // The first worker has the pool open (the scenario and the contract installed it).
    const held = `held-${Date.now()}.db`
    await call({ kind: 'open', path: held })
    const second = new Worker(new URL('./sqlite-opfs.worker.ts', import.meta.url), { type: 'module' })
    try {
      const reply = await new Promise<{ ok: boolean; error?: SerializedError }>((resolve) => {
        second.onmessage = (e: MessageEvent<{ ready?: boolean; ok: boolean; error?: SerializedError }>) => {
          if (e.data.ready) second.postMessage({ id: 1, kind: 'open', path: 'other.db' })
          else resolve(e.data)
        }
      })
      expect(reply.ok).toBe(false)
      const err = deserializeError(reply.error as SerializedError)
      expect(err).toBeInstanceOf(StoreLockedError)
      expect(err.message).toMatch(/in use by another tab or worker/)
    } finally {
      second.terminate()
      await call({ kind: 'call', store: held, method: 'close', args: [] })
    }
    // The second worker waits for the pool (OPFS_WAIT_MS) before it gives up.
  }, 60_000)
})

describe('a second store on the same OPFS file in the same worker', () => {
  it('is refused with StoreLockedError while the first is open, and opens once it is closed', async () => {
    const path = `twice-${Date.now()}.db`
    await call({ kind: 'open', path })
    const err = await call({ kind: 'open', path }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect((err as Error).message).toMatch(/already open in this worker/)
    // The first store is unharmed and still serves.
    expect(await call({ kind: 'call', store: path, method: 'counts', args: [] })).toMatchObject({ waiting: 0 })
    await call({ kind: 'call', store: path, method: 'close', args: [] })
    await call({ kind: 'open', path })
    await call({ kind: 'call', store: path, method: 'close', args: [] })
  }, 60_000)
})

storeContract('sqliteStore on OPFS in a dedicated Worker (Chromium)', opfsStoreProxy)
