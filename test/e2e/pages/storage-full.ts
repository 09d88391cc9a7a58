/**
 * A page with a queue on an IndexedDB store that keeps no succeeded job (or, with `?keep=all`,
 * every finished job), driven by
 * test/e2e/storage-full.test.ts through `window.e2eFull` while the origin's quota is small: it fills
 * the store through `dispatch` and checks what is stored.
 */
import { StorageFullError, createQueue, job, serializeError, type Counts, type QueueEvent, type SerializedError } from '../../../src/index.js'
import { idbStore } from '../../../src/storage/idb/index.js'

const params = new URLSearchParams(location.search)
const db = params.get('db') ?? 'ferry-e2e-full'
// `?keep=all`: no retention, finished jobs stay until pruned.
const queue = createQueue({ store: idbStore({ name: db }), ...(params.get('keep') === 'all' ? {} : { retention: { succeeded: { count: 0 } } }) })
const events: QueueEvent[] = []
queue.events.subscribe((e) => events.push(e))

/** Bytes that do not compress, so they count against the quota in full, with their checksum. */
function noise(n: number): { bytes: Uint8Array; sum: number } {
  const bytes = new Uint8Array(n)
  for (let i = 0; i < n; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(n, i + 65_536)))
  return { bytes, sum: checksum(bytes) }
}

function checksum(bytes: Uint8Array): number {
  let h = 0
  for (const b of bytes) h = (Math.imul(h, 31) + b) | 0
  return h
}

const api = {
  /**
   * Dispatches jobs of `size` random bytes until a dispatch fails or `max` were stored. Returns
   * the ids stored and the error of the dispatch that failed.
   */
  async fill(size: number, max: number): Promise<{ ids: string[]; error?: SerializedError & { isStorageFull: boolean } }> {
    const ids: string[] = []
    for (let i = 0; i < max; i++) {
      const payload = noise(size)
      try {
        ids.push((await queue.dispatch(job('fill', payload))).id)
      } catch (err) {
        return { ids, error: { ...serializeError(err), isStorageFull: err instanceof StorageFullError } }
      }
    }
    return { ids }
  },
  /** Each job's payload checks out against its checksum: ids of those that do not, or are gone. */
  async damaged(ids: string[]): Promise<string[]> {
    const bad: string[] = []
    for (const id of ids) {
      const j = await queue.getJob(id)
      const p = j?.payload as { bytes?: Uint8Array; sum?: number } | undefined
      if (!p?.bytes || checksum(p.bytes) !== p.sum) bad.push(id)
    }
    return bad
  },
  counts: (): Promise<Counts> => queue.counts(),
  /** Registers the handler and starts the engine. */
  async start(): Promise<void> {
    queue.register('fill', () => 'done')
    await queue.start()
  },
  /** Jobs that succeeded, by their events, and the errors the engine reported. */
  progress(): { succeeded: number; errors: SerializedError[] } {
    return {
      succeeded: events.filter((e) => e.kind === 'job:succeeded').length,
      errors: events.flatMap((e) => (e.kind === 'queue:error' ? [e.error] : [])),
    }
  },
  /** Resolves once `n` jobs succeeded, by their events. */
  async succeeded(n: number): Promise<void> {
    while (events.filter((e) => e.kind === 'job:succeeded').length < n) await new Promise((r) => setTimeout(r, 20))
  },
  prune: (): Promise<number> => queue.prune(Date.now() + 1),
  stop: (): Promise<void> => queue.stop(),
  usage: async (): Promise<number> => (await navigator.storage.estimate()).usage ?? 0,
  close: (): Promise<void> => queue.close({ timeoutMs: 100 }),
}

declare global {
  interface Window {
    e2eFull: typeof api
    e2eReady: boolean
  }
}

window.e2eFull = api
window.e2eReady = true
