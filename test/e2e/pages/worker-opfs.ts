/**
 * A page that hosts its queue in a dedicated Worker on OPFS SQLite and drives it with
 * connectQueue. Driven by test/e2e/worker-opfs.test.ts through `window.app`.
 */
import { lastValueFrom } from 'rxjs'
import { QueueError, job, type Counts, type JobRecord } from '../../../src/index.js'
import { events$, job$ } from '../../../src/observable/index.js'
import { connectQueue } from '../../../src/workers/index.js'

const worker = new Worker(new URL('./tabs-opfs.worker.ts', import.meta.url), { type: 'module' })
const queue = connectQueue<{ work: { n: number } }>(worker)
const kinds: string[] = []
events$(queue).subscribe((e) => kinds.push(e.kind))

const api = {
  pause: (): Promise<void> => queue.pause(),
  dispatch: async (n: number): Promise<string[]> =>
    (await queue.dispatchMany(Array.from({ length: n }, (_, i) => job('work', { n: i })))).map((r) => r.id),
  counts: (): Promise<Counts> => queue.counts(),
  finalOf: (id: string): Promise<JobRecord> => lastValueFrom(job$(queue, id)),
  kinds: (): string[] => [...kinds],
  /** The class and code an error from the worker arrives with. */
  async missingBatch(): Promise<{ name: string; code: string; isQueueError: boolean }> {
    try {
      await queue.findBatch('nope')
      return { name: 'none', code: 'none', isQueueError: false }
    } catch (err) {
      return { name: (err as Error).name, code: (err as QueueError).code, isQueueError: err instanceof QueueError }
    }
  },
}

export type WorkerOpfsApi = typeof api
;(window as unknown as { app: WorkerOpfsApi }).app = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
