/**
 * The IndexedDB ceiling: what a queue must write, in the best batched form, without a queue
 * library. Jobs are records in one object store with an index for the claim; the default
 * durability, as ferry's store uses. A dispatch is one put in its own transaction,
 * `dispatchMany` 1,000 puts in one, and processing at concurrency c is one transaction per turn
 * that marks the last c jobs done and leases the next c (getAll on the index). With `ahead`,
 * processing claims ahead instead (`claim-ahead.ts`): one transaction settles what finished and
 * leases up to `ahead` jobs, which c runners take from a buffer.
 *
 * @module
 */
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import { claimAheadLoop } from '../lib/claim-ahead.js'

interface Job {
  seq: number
  state: 'waiting' | 'active' | 'succeeded'
  queue: string
  payload: unknown
}

let dbs = 0

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IDB request failed'))
  })
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onerror = () => reject(tx.error ?? new Error('IDB transaction failed'))
    tx.onabort = () => reject(tx.error ?? new Error('IDB transaction aborted'))
  })
}

async function open(name: string): Promise<IDBDatabase> {
  const r = indexedDB.open(name, 1)
  r.onupgradeneeded = () => {
    const s = r.result.createObjectStore('jobs', { keyPath: 'seq' })
    s.createIndex('claim', ['state', 'queue', 'seq'])
  }
  return req(r)
}

/** `ahead`: jobs leased per turn with claim-ahead; without it, each turn leases c. */
export const rawIdb = (o: { ahead?: number } = {}): AdapterFactory => async ({ concurrency }) => {
  const name = `raw-${Date.now()}-${dbs++}`
  const db = await open(name)
  let seq = 0
  const put = (s: IDBObjectStore, i: number) => s.put({ seq: seq++, state: 'waiting', queue: 'default', payload: { i } } satisfies Job)

  let handler: Handler = () => undefined
  let stopped = true
  let loop: Promise<void> = Promise.resolve()
  let wake: (() => void) | undefined
  const turn = async (settle: Job[], want = stopped ? 0 : concurrency): Promise<Job[]> => {
    const tx = db.transaction('jobs', 'readwrite')
    const s = tx.objectStore('jobs')
    for (const j of settle) s.put({ ...j, state: 'succeeded' })
    let claimed: Job[] = []
    if (want > 0) {
      const range = IDBKeyRange.bound(['waiting', 'default', -Infinity], ['waiting', 'default', Infinity])
      claimed = (await req(s.index('claim').getAll(range, want))) as Job[]
      for (const j of claimed) s.put({ ...j, state: 'active' })
    }
    await done(tx)
    return claimed
  }
  const work = async () => {
    let finished: Job[] = []
    while (!stopped || finished.length > 0) {
      const settle = finished
      finished = []
      const claimed = await turn(settle)
      if (claimed.length === 0 && !stopped) {
        await new Promise<void>((resolve) => (wake = resolve))
        continue
      }
      await Promise.all(
        claimed.map(async (j) => {
          await Promise.resolve()
          handler()
          finished.push(j)
        }),
      )
    }
  }
  const ahead = o.ahead === undefined ? undefined : claimAheadLoop<Job>({ concurrency, ahead: o.ahead, turn })
  const woken = () => (ahead ? ahead.wake() : wake?.())
  const adapter: Adapter = {
    dispatch: async (i) => {
      const tx = db.transaction('jobs', 'readwrite')
      put(tx.objectStore('jobs'), i)
      await done(tx)
      woken()
    },
    dispatchMany: async (n, offset) => {
      const tx = db.transaction('jobs', 'readwrite')
      const s = tx.objectStore('jobs')
      for (let k = 0; k < n; k++) put(s, offset + k)
      await done(tx)
      woken()
    },
    start: async (h) => {
      if (ahead) return ahead.start(h)
      handler = h
      stopped = false
      loop = work()
    },
    stop: async () => {
      if (ahead) return ahead.stop()
      stopped = true
      wake?.()
      await loop
    },
    close: async () => {
      db.close()
      await req(indexedDB.deleteDatabase(name))
    },
  }
  return adapter
}
