import { afterEach, describe, expect, it } from 'vitest'
import { shareQueue, type SharedQueue } from '../../src/workers/index.js'
import type { Jobs } from './fixtures/jobs.js'

// Tabs elect a host and its worker starts in seconds on a busy machine.
describe('the paused queues of a queue shared by the tabs of an origin', { timeout: 30_000 }, () => {
  const opened: SharedQueue<Jobs>[] = []
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close()
  })
  const share = (name: string): SharedQueue<Jobs> => {
    const script = new URL('../browser/fixtures/queue.worker.ts', import.meta.url)
    const q = shareQueue<Jobs>({ name, worker: () => new Worker(script, { type: 'module' }) })
    opened.push(q)
    return q
  }

  it('tells every tab which queues the host paused, whichever tab paused them', async () => {
    const name = `paused-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 20_000 }).toBe(true)
    const other = share(name)
    expect(other.isHost).toBe(false)
    expect(await other.pausedQueues()).toEqual([])
    await other.pause()
    expect(await host.pausedQueues()).toEqual(['default'])
    expect(await other.pausedQueues()).toEqual(['default'])
    await host.resume()
    expect(await other.pausedQueues()).toEqual([])
  })
})
