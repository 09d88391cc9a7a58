import 'fake-indexeddb/auto'
import { MessageChannel } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import {
  SerializationError,
  createQueue,
  job,
  memoryStore,
  type Queue,
  type QueueEvent,
  type Store,
} from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { connectQueue, exposeQueue } from '../../src/workers/index.js'

// One rule for what every store refuses: a payload, result or progress value with a function,
// a symbol or a cycle in it. Each is a SerializationError (code SERIALIZATION) and nothing is
// written, whichever store keeps the jobs.

let dbs = 0
const stores: [string, () => Store][] = [
  ['the memory store', () => memoryStore()],
  ['the IndexedDB store', () => idbStore({ name: `payloads-${++dbs}` })],
  ['the SQLite store', () => sqliteStore()],
]

function cyclic(): Record<string, unknown> {
  const a: Record<string, unknown> = { name: 'a', items: [1, 2] }
  a['self'] = { parent: a }
  return a
}

const unstorable: [string, () => unknown, RegExp][] = [
  ['a cycle', cyclic, /^cannot store payload\.self\.parent of job \S+ \(t\): it refers back to itself \(a cycle\)$/],
  ['a cycle through an array', () => { const xs: unknown[] = [1]; xs.push({ xs }); return xs }, /^cannot store payload\[1\]\.xs of job .*cycle/],
  ['a function', () => ({ run: () => 42 }), /^cannot store payload\.run of job .*: a function cannot be stored$/],
  ['a symbol', () => ({ tag: Symbol('t') }), /^cannot store payload\.tag of job .*: a symbol cannot be stored$/],
  ['a symbol key', () => ({ [Symbol('k')]: 1, ok: true }), /^cannot store payload of job .*: symbol keys cannot be stored$/],
  ['a function in a Map', () => ({ m: new Map([['k', () => 1]]) }), /^cannot store payload\.m\.get\("k"\) of job .*: a function/],
  ['a value nested too deeply to read', () => nested(200_000), /^cannot store payload of job \S+ \(t\): it is nested too deeply$/],
]

/** An object nested `depth` levels deep: deeper than any store can read without running out of stack. */
function nested(depth: number): unknown {
  let v: unknown = 1
  for (let i = 0; i < depth; i++) v = { a: v }
  return v
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(v)}`)
    },
    (err: unknown) => err,
  )
}

function expectSerializationError(err: unknown, message?: RegExp): void {
  expect(err).toBeInstanceOf(SerializationError)
  expect(err).toMatchObject({ name: 'SerializationError', code: 'SERIALIZATION' })
  if (message) expect((err as Error).message).toMatch(message)
}

/** Resolves with the first event of this kind. */
function next<K extends QueueEvent['kind']>(q: { events: Queue['events'] }, kind: K): Promise<Extract<QueueEvent, { kind: K }>> {
  return new Promise((resolve) => {
    const off = q.events.subscribe((e) => {
      if (e.kind === kind) {
        off()
        resolve(e as Extract<QueueEvent, { kind: K }>)
      }
    })
  })
}

describe.each(stores)('payloads that no store can hold, on %s', (_, makeStore) => {
  let queue: Queue | undefined
  afterEach(async () => {
    await queue?.close()
    queue = undefined
  })
  const open = (): Queue => (queue = createQueue({ store: makeStore(), clock: new ManualClock(1_000_000) }))

  it.each(unstorable)('rejects dispatch of a payload with %s and writes nothing', async (_, value, message) => {
    const q = open()
    const kept = await q.dispatch(job('t', { fine: true }))
    const err = await rejection(q.dispatch(job('t', value())))
    expectSerializationError(err, message)
    expect((await q.listJobs()).map((j) => j.id)).toEqual([kept.id])
  })

  it('writes none of dispatchMany when one payload has a cycle', async () => {
    const q = open()
    const err = await rejection(q.dispatchMany([job('t', 1), job('t', cyclic()), job('t', 3)]))
    expectSerializationError(err, /cycle/)
    expect(await q.listJobs()).toEqual([])
    expect((await q.counts()).waiting).toBe(0)
  })

  it('writes nothing of a chain or a batch with a cycle in a step or a callback', async () => {
    const q = open()
    expectSerializationError(await rejection(q.chain(job('t', 1), job('t', cyclic())).dispatch()), /cycle/)
    expectSerializationError(await rejection(q.chain(job('t', 1)).onError(job('t', cyclic())).dispatch()), /cycle/)
    expectSerializationError(await rejection(q.batch(job('t', cyclic()), job('t', 2)).dispatch()), /cycle/)
    expectSerializationError(await rejection(q.batch(job('t', 1)).onSettled(job('t', { f: () => 1 })).dispatch()), /function/)
    expect(await q.listJobs()).toEqual([])
  })

  it('refuses a schedule whose payload has a cycle', async () => {
    const q = open()
    expectSerializationError(await rejection(q.schedule('nightly', { every: 60_000 }, job('t', cyclic()))), /cycle/)
    expect(await q.listSchedules()).toEqual([])
  })

  it('keeps a value that appears twice without a cycle', async () => {
    const q = open()
    const shared = { n: 1 }
    const { id } = await q.dispatch(job('t', { a: shared, b: shared, list: [shared, shared] }))
    expect((await q.getJob(id))?.payload).toEqual({ a: { n: 1 }, b: { n: 1 }, list: [{ n: 1 }, { n: 1 }] })
  })

  it('fails a job whose result has a cycle with SerializationError, and settles the others', async () => {
    const q = open()
    q.register('bad', () => cyclic())
    q.register('good', () => 'fine')
    const failed = next(q, 'job:failed')
    const succeeded = next(q, 'job:succeeded')
    const bad = await q.dispatch(job('bad', null))
    const good = await q.dispatch(job('good', null))
    await q.start()
    expect((await failed).jobId).toBe(bad.id)
    expect((await succeeded).jobId).toBe(good.id)
    const record = await q.getJob(bad.id)
    expect(record).toMatchObject({ state: 'failed', attempt: 1, error: { name: 'SerializationError', code: 'SERIALIZATION' } })
    expect(record?.result).toBeUndefined()
    expect(await q.getJob(good.id)).toMatchObject({ state: 'succeeded', result: 'fine' })
  })

  it('rejects a progress value with a cycle and keeps the last good one', async () => {
    const q = open()
    const seen: unknown[] = []
    q.register('t', async (_p, ctx) => {
      await ctx.progress({ step: 1 })
      seen.push(await ctx.progress(cyclic()).catch((e: unknown) => e))
      return 'done'
    })
    const succeeded = next(q, 'job:succeeded')
    const { id } = await q.dispatch(job('t', null))
    await q.start()
    await succeeded
    expectSerializationError(seen[0], /cycle/)
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', progress: { step: 1 } })
  })
})

describe('payloads through a worker client', () => {
  it('rejects a payload with a cycle with SerializationError, and the hosted queue writes nothing', async () => {
    const { port1, port2 } = new MessageChannel()
    const hosted = createQueue({ store: memoryStore() })
    exposeQueue(hosted, port1)
    const client = connectQueue(port2)
    try {
      const err = await rejection(client.dispatch(job('t', cyclic())))
      expectSerializationError(err, /cycle/)
      expect(await client.listJobs()).toEqual([])
      expect(await hosted.listJobs()).toEqual([])
    } finally {
      await client.close()
      await hosted.close()
      port1.close()
      port2.close()
    }
  })
})
