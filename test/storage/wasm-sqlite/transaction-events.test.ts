import { describe, expect, it, vi } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../../src/index.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'

describe('events of a dispatch in the application\'s SQLite transaction', () => {
  it('come once the transaction commits, and never when it rolls back', async () => {
    const store = sqliteStore()
    const queue = createQueue({ store })
    const events: QueueEvent[] = []
    queue.events.subscribe((e) => events.push(e))
    let inside = -1
    const committed = await store.transaction(async (tx) => {
      const { id } = await queue.dispatch(job('t', { n: 1 }), { tx })
      inside = events.length
      return id
    })
    expect(inside).toBe(0)
    await vi.waitFor(() => expect(events.map((e) => 'jobId' in e && e.jobId)).toEqual([committed]))
    await store
      .transaction(async (tx) => {
        await queue.dispatch(job('t', { n: 2 }), { tx })
        throw new Error('the app changes its mind')
      })
      .catch(() => undefined)
    // Events come in commit order: once a later dispatch is told, an event of the rolled-back
    // one would have come before it.
    const { id: after } = await queue.dispatch(job('t', { n: 3 }))
    await vi.waitFor(() => expect(events.map((e) => 'jobId' in e && e.jobId)).toContain(after))
    expect(events.map((e) => 'jobId' in e && e.jobId)).toEqual([committed, after])
    expect(await queue.counts()).toMatchObject({ waiting: 2 })
    await queue.close()
  })
})
