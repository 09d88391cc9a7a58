/**
 * Stopping an engine: a claim in flight when `stop` is called, run on every store; and, on an
 * IndexedDB store only, a database upgraded by a newer version of the application while a job
 * runs. Shared by the Node (fake-indexeddb), Chromium and Postgres test files.
 */
import { openDB } from 'idb'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createQueue, job, type Queue, type QueueEvent, type Store } from '../../../src/index.js'
import { SCHEMA_VERSION } from '../../../src/storage/idb/index.js'

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

let n = 0
const run = Date.now().toString(36)
/** A database name no other scenario uses: `ferry-stop-<run>-<n>`. */
const fresh = (): string => `ferry-stop-${run}-${++n}`

/** A queue on `store` with the events it tells, closed after the test. Call it inside a `describe`. */
function queuesClosedAfterEach(): (store: Store) => { queue: Queue; events: QueueEvent[] } {
  const queues: Queue[] = []
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.close({ timeoutMs: 100 })
  })
  return (store) => {
    const queue = createQueue({ store })
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))
    queues.push(queue)
    return { queue, events }
  }
}

/** What `stop` does to a claim in flight, on any store: `open(name)` opens the store of a database name. */
export function stopScenarios(label: string, open: (name: string) => Store): void {
  describe(`stop on ${label}`, () => {
    const queueOn = queuesClosedAfterEach()

    it('releases the jobs a claim in flight brings back after stop, without running them', async () => {
      const inner = open(fresh())
      const gate = deferred()
      let claiming = deferred()
      const store: Store = {
        ...inner,
        async settleAndClaim(input) {
          if (input.claim) {
            claiming.resolve()
            await gate.promise
          }
          return inner.settleAndClaim(input)
        },
      }
      const { queue } = queueOn(store)
      const handler = vi.fn(() => new Promise(() => {}))
      queue.register('t', handler)
      const { id } = await queue.dispatch(job('t', {}))
      await queue.start()
      await claiming.promise
      claiming = deferred()
      const stopping = queue.stop({ timeoutMs: 100 })
      gate.resolve()
      await stopping
      expect(handler).not.toHaveBeenCalled()
      expect(await inner.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    })

    it('runs nothing that a dispatch just before stop woke the engine for', async () => {
      const store = open(fresh())
      const { queue } = queueOn(store)
      const handler = vi.fn(() => new Promise(() => {}))
      queue.register('t', handler)
      await queue.start()
      const { id } = await queue.dispatch(job('t', {}))
      // The dispatch woke the engine: its claim is on its way through the store.
      await queue.stop({ timeoutMs: 100 })
      expect(handler).not.toHaveBeenCalled()
      expect(await store.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    })
  })
}

/** Stopping after a newer version of the application upgraded an IndexedDB database (`idbStore` only). */
export function idbUpgradeStopScenario(label: string, open: (name: string) => Store): void {
  describe(`stop on ${label}`, () => {
    const queueOn = queuesClosedAfterEach()

    it('closes within its timeout after a newer version upgraded the database under a running job', async () => {
      const name = fresh()
      const { queue, events } = queueOn(open(name))
      const gate = deferred()
      const started = deferred()
      queue.register('t', async () => {
        started.resolve()
        await gate.promise
        return 'done'
      })
      await queue.start()
      await queue.dispatch(job('t', {}))
      await started.promise
      // Another tab with a newer schema upgrades the database: this store's connection closes,
      // and every call from now on fails with SCHEMA_TOO_NEW.
      const newer = await openDB(name, SCHEMA_VERSION + 1, {
        upgrade(_db, _old, _new, tx) {
          void tx.objectStore('ferry.meta').put(SCHEMA_VERSION + 1, 'schema')
        },
      })
      newer.close()
      gate.resolve()
      await vi.waitFor(() => expect(events.some((e) => e.kind === 'queue:error' && e.error.code === 'SCHEMA_TOO_NEW')).toBe(true))
      await queue.close({ timeoutMs: 200 })
      const errors = events.flatMap((e) => (e.kind === 'queue:error' ? [e.error] : []))
      expect(errors.at(-1)?.message).toContain('gave up')
    })
  })
}
