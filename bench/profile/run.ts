/**
 * What a profile records: ferry processing pre-loaded no-op jobs on one store at one
 * concurrency, the same in Node and in Chromium. Loading is not part of it: `mark` is called
 * with 'start' just before `start()` and with 'end' once `stop()` has settled the last job.
 *
 * @module
 */
import { createQueue, job, type Store } from '../../src/index.js'
import { counter } from '../lib/scenarios.js'
import { now } from '../lib/stats.js'

export interface ProfileRun {
  jobs: number
  ms: number
}

export async function processForProfile(store: Store, o: { concurrency: number; jobs: number; seconds: number }, mark: (at: 'start' | 'end') => void): Promise<ProfileRun> {
  const q = createQueue({ store, concurrency: o.concurrency })
  const { seen, handler, all } = counter(o.jobs, o.seconds)
  q.register('noop', handler)
  try {
    for (let off = 0; off < o.jobs; off += 1000) {
      await q.dispatchMany(Array.from({ length: Math.min(1000, o.jobs - off) }, (_, k) => job('noop', { i: off + k })))
    }
    mark('start')
    const t0 = now()
    await q.start()
    await all
    await q.stop()
    const ms = now() - t0
    mark('end')
    return { jobs: seen(), ms }
  } finally {
    await q.close()
  }
}
