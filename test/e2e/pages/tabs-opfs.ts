/**
 * A tab sharing one queue with the other tabs of the origin: whichever tab holds the Web Lock
 * hosts it in a worker on OPFS SQLite. Driven by test/e2e/tabs-opfs.test.ts via `window.tabs`.
 */
import { job, type Counts } from '../../../src/index.js'
import { shareQueue } from '../../../src/workers/index.js'

const queue = shareQueue<{ work: { n: number } }>({
  name: 'e2e',
  worker: () => new Worker(new URL('./tabs-opfs.worker.ts', import.meta.url), { type: 'module' }),
})
const runs: { id: string; attempt: number }[] = []
new BroadcastChannel('e2e-runs').onmessage = (m: MessageEvent<{ id: string; attempt: number }>) => void runs.push(m.data)
let succeededHeard = 0
queue.events.subscribe((e) => {
  if (e.kind === 'job:succeeded') succeededHeard++
})
const acked: string[] = []
let streaming = false

const api = {
  isHost: (): boolean => queue.isHost,
  async dispatch(count: number, chunk = 50): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i += chunk) {
      const n = Math.min(chunk, count - i)
      const out = await queue.dispatchMany(Array.from({ length: n }, (_, k) => job('work', { n: i + k })))
      ids.push(...out.map((r) => r.id))
    }
    return ids
  },
  /** Dispatches one job at a time until `stopStream`, keeping the ids that were acknowledged. */
  startStream(): void {
    streaming = true
    void (async () => {
      for (let n = 0; streaming; n++) {
        const { id } = await queue.dispatch(job('work', { n }))
        acked.push(id)
      }
    })()
  },
  stopStream(): string[] {
    streaming = false
    return [...acked]
  },
  acked: (): number => acked.length,
  runs: () => [...runs],
  counts: (): Promise<Counts> => queue.counts(),
  succeededHeard: (): number => succeededHeard,
  states: async (ids: string[]): Promise<Record<string, number>> => {
    const out: Record<string, number> = {}
    for (const id of ids) {
      const s = (await queue.getJob(id))?.state ?? 'missing'
      out[s] = (out[s] ?? 0) + 1
    }
    return out
  },
}

export type TabsOpfsApi = typeof api
;(window as unknown as { tabs: TabsOpfsApi }).tabs = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
