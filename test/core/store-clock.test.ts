import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../src/index.js'
import { defineStore, storeBackend } from '../../src/core/define-store.js'
import { memoryStore } from '../../src/core/memory-store.js'
import type { Store } from '../../src/core/store.js'
import { ManualClock } from '../../src/testing/manual-clock.js'

const DAY = 86_400_000

/** A memory store whose time is `clock`'s, as a store shared by several machines gives the database's. */
function storeWithClock(clock: ManualClock): Store {
  return { ...memoryStore(), clock }
}

describe("a store's clock", () => {
  it("is the queue's clock when the queue is given none", async () => {
    const clock = new ManualClock(Date.now() - 3 * DAY)
    const queue = createQueue({ store: storeWithClock(clock) })
    const { id } = await queue.dispatch(job('t', null).delay(1000))
    expect(await queue.getJob(id)).toMatchObject({ createdAt: clock.now(), runAt: clock.now() + 1000, state: 'delayed' })
    // Its timers too: the job falls due when the store's clock says so.
    queue.register('t', () => 'ran')
    await queue.start()
    clock.advance(1000)
    await expect.poll(async () => (await queue.getJob(id))?.state).toBe('succeeded')
    await queue.close()
  })

  it("gives way to the queue's own clock", async () => {
    const storeTime = new ManualClock(Date.now() - 3 * DAY)
    const own = new ManualClock(Date.now() + 5 * DAY)
    const queue = createQueue({ store: storeWithClock(storeTime), clock: own })
    const { id } = await queue.dispatch(job('t', null))
    expect((await queue.getJob(id))?.createdAt).toBe(own.now())
    await queue.close()
  })

  it('leaves the system clock where the store has none', async () => {
    const queue = createQueue({ store: memoryStore() })
    const before = Date.now()
    const { id } = await queue.dispatch(job('t', null))
    const createdAt = (await queue.getJob(id))?.createdAt ?? 0
    expect(createdAt).toBeGreaterThanOrEqual(before)
    expect(createdAt).toBeLessThanOrEqual(Date.now())
    await queue.close()
  })

  it('is the clock given to defineStore', async () => {
    const clock = new ManualClock(1_000)
    const backend = storeBackend(memoryStore())
    if (!backend) throw new Error('the memory store is made with defineStore')
    const store = defineStore(backend, { clock })
    expect(store.clock).toBe(clock)
    expect(defineStore(backend).clock).toBeUndefined()
    const queue = createQueue({ store })
    const { id } = await queue.dispatch(job('t', null))
    expect((await queue.getJob(id))?.createdAt).toBe(1_000)
    await queue.close()
  })
})
