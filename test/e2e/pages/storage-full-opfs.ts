/**
 * A page whose queue runs on OPFS SQLite in a dedicated worker, driven by
 * test/e2e/storage-full.test.ts through `window.e2eOpfs` while the origin's quota is small.
 */
import { StorageError, StorageFullError, job, serializeError, type Counts, type SerializedError } from '../../../src/index.js'
import { connectQueue } from '../../../src/workers/index.js'

const worker = new Worker(new URL('./storage-full-opfs.worker.ts', import.meta.url), { type: 'module' })
const queue = connectQueue(worker)

/** Text that does not compress, `n` characters. */
function noise(n: number): string {
  const bytes = new Uint8Array(Math.ceil(n / 2))
  for (let i = 0; i < bytes.length; i += 65_536) crypto.getRandomValues(bytes.subarray(i, Math.min(bytes.length, i + 65_536)))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, n)
}

const api = {
  async fill(size: number, max: number): Promise<{ ids: string[]; error?: SerializedError & { isStorageFull: boolean; isStorageError: boolean } }> {
    const ids: string[] = []
    for (let i = 0; i < max; i++) {
      try {
        ids.push((await queue.dispatch(job('fill', { text: noise(size) }))).id)
      } catch (err) {
        return { ids, error: { ...serializeError(err), isStorageFull: err instanceof StorageFullError, isStorageError: err instanceof StorageError } }
      }
    }
    return { ids }
  },
  counts: (): Promise<Counts> => queue.counts(),
  usage: async (): Promise<number> => (await navigator.storage.estimate()).usage ?? 0,
}

declare global {
  interface Window {
    e2eOpfs: typeof api
  }
}

window.e2eOpfs = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
