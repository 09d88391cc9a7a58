/**
 * An outbox page whose queue runs in a dedicated worker (`connectQueue`): the worker's network
 * is the one that counts. Driven by test/e2e/outbox-worker.test.ts through `window.outbox`.
 */
import { job, type JobRecord, type QueueEvent } from '../../../src/index.js'
import { connectQueue } from '../../../src/workers/index.js'
import type { Attempt, OutboxJobs } from './outbox-jobs.js'

const worker = new Worker(new URL('./outbox-worker.worker.ts', import.meta.url), { type: 'module' })
const queue = connectQueue<OutboxJobs>(worker)
const attempts: Attempt[] = []
new BroadcastChannel('e2e-worker-attempts').onmessage = (m: MessageEvent<Attempt>) => void attempts.push(m.data)
const network: string[] = []
queue.events.subscribe((e: QueueEvent) => {
  if (e.kind === 'queue:online' || e.kind === 'queue:offline') network.push(e.kind)
})

const api = {
  async dispatch(ids: string[]): Promise<void> {
    await queue.dispatchMany(ids.map((id) => job('upload', { id, body: `photo ${id}` }).withId(id)))
  },
  attempts: (): Attempt[] => [...attempts],
  jobs: (ids: string[]): Promise<(JobRecord | undefined)[]> => Promise.all(ids.map((id) => queue.getJob(id))),
  network: () => ({ pageOnLine: navigator.onLine, clientOnline: queue.online, events: [...network] }),
}

export type OutboxWorkerApi = typeof api
await queue.counts()
;(window as unknown as { outbox: OutboxWorkerApi }).outbox = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
