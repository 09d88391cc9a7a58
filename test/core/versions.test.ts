import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, createQueue, job, memoryStore, type ClaimOrder, type JobFilter } from '../../src/index.js'
import { ManualClock } from '../../src/testing/manual-clock.js'
import { harness, settle } from '../helpers.js'

describe('versions', () => {
  it('keeps the version that dispatched a job and the one that ran its last attempt', async () => {
    const { queue } = harness({ version: '1.4.2' })
    queue.register('t', () => 'ok')
    const { id } = await queue.dispatch(job('t', 1))
    expect(await queue.getJob(id)).toMatchObject({ dispatchedBy: '1.4.2' })
    expect((await queue.getJob(id))?.processedBy).toBeUndefined()
    await queue.drain()
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', dispatchedBy: '1.4.2', processedBy: '1.4.2' })
    await queue.close()
  })

  it('stamps every insert path: dispatchMany, chains, batches, their callbacks and schedules', async () => {
    const clock = new ManualClock(1_000_000)
    const { queue } = harness({ clock, version: 'v7' })
    queue.register('t', () => 'ok')
    await queue.dispatchMany([job('t', 'many')])
    await queue.chain(job('t', 'step')).onSuccess(job('t', 'chain-cb')).dispatch()
    await queue.batch(job('t', 'member')).onSettled(job('t', 'batch-cb')).dispatch()
    await queue.schedule('every', { every: 1000 }, job('t', 'scheduled'))
    clock.advance(1000)
    await queue.drain()
    const jobs = await queue.listJobs()
    expect(jobs.map((j) => j.payload).sort()).toEqual(['batch-cb', 'chain-cb', 'many', 'member', 'scheduled', 'step'])
    for (const j of jobs) expect(j, String(j.payload)).toMatchObject({ dispatchedBy: 'v7', processedBy: 'v7' })
    await queue.close()
  })

  it('shows the version of the engine that ran the last attempt: a second engine with another version replaces it', async () => {
    const store = memoryStore()
    const clock = new ManualClock(1_000_000)
    const producer = createQueue({ store, clock, version: 'web-1' })
    const { id } = await producer.dispatch(job('t', 1).retry(1).backoff(60_000))
    const old = createQueue({ store, clock, version: '1.0.0' })
    old.register('t', () => {
      throw new Error('the old code fails')
    })
    await old.start()
    await settle()
    await old.stop()
    expect(await producer.getJob(id)).toMatchObject({ state: 'delayed', attempt: 1, dispatchedBy: 'web-1', processedBy: '1.0.0' })
    clock.advance(60_000)
    const fixed = createQueue({ store, clock, version: '1.0.1' })
    fixed.register('t', () => 'ok')
    await fixed.drain()
    expect(await producer.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2, dispatchedBy: 'web-1', processedBy: '1.0.1' })
    // An engine without a version leaves processedBy as it is.
    const unversioned = createQueue({ store, clock })
    const second = await producer.dispatch(job('t', 2))
    unversioned.register('t', () => 'ok')
    await unversioned.drain()
    expect(await producer.getJob(second.id)).toMatchObject({ state: 'succeeded', dispatchedBy: 'web-1' })
    expect((await producer.getJob(second.id))?.processedBy).toBeUndefined()

    expect((await producer.listJobs({ version: '1.0.1' })).map((j) => j.id)).toEqual([id])
    expect((await producer.listJobs({ version: 'web-1' })).map((j) => j.id)).toEqual([id, second.id])
    expect(await producer.listJobs({ version: '1.0.0' })).toEqual([])
    await fixed.close()
    await old.close()
    await unversioned.close()
    await producer.close()
  })

  it('is checked: a non-empty, well-formed string of at most 200 characters', async () => {
    for (const version of ['', 'x'.repeat(201), 'a\uD800', 1, null]) {
      expect(() => createQueue({ version: version as string }), String(version)).toThrow(InvalidArgumentError)
    }
    expect(() => createQueue({ version: 'x'.repeat(200) })).not.toThrow()
    const { queue } = harness()
    for (const version of ['', 3, '\uDC00']) {
      await expect(queue.listJobs({ version } as unknown as JobFilter), String(version)).rejects.toThrow(InvalidArgumentError)
    }
    await queue.close()
  })
})

describe('claim order', () => {
  /** Jobs whose priority and ready time disagree: a claim order shows which one it follows. */
  async function runOrder(order: ClaimOrder | undefined): Promise<string[]> {
    const clock = new ManualClock(1_000_000)
    const { queue } = harness({ clock, ...(order ? { order } : {}) })
    const ran: string[] = []
    queue.register('t', (p) => void ran.push(p as string))
    await queue.dispatchMany([
      job('t', 'late-high').priority(5).runAt(999_000),
      job('t', 'early-low').priority(0).runAt(990_000),
      job('t', 'early-high').priority(5).runAt(990_000),
      job('t', 'latest-top').priority(9).runAt(1_000_000),
      job('t', 'early-low-2').priority(0).runAt(990_000),
    ])
    await queue.drain()
    await queue.close()
    return ran
  }

  it("runs the highest priority first by default and with 'priority'", async () => {
    const expected = ['latest-top', 'early-high', 'late-high', 'early-low', 'early-low-2']
    expect(await runOrder(undefined)).toEqual(expected)
    expect(await runOrder('priority')).toEqual(expected)
  })

  it("runs the earliest ready time first with 'runAt', then priority, then dispatch order", async () => {
    expect(await runOrder('runAt')).toEqual(['early-high', 'early-low', 'early-low-2', 'late-high', 'latest-top'])
  })

  it("keeps the order among jobs claimed ahead with 'runAt'", async () => {
    const clock = new ManualClock(1_000_000)
    const { queue } = harness({ clock, order: 'runAt' })
    const ran: number[] = []
    queue.register('t', (p) => void ran.push(p as number))
    // Enough fast attempts for the engine to claim ahead, then a mixed backlog.
    await queue.dispatchMany(Array.from({ length: 20 }, (_, i) => job('t', -1 - i)))
    await queue.drain()
    ran.length = 0
    await queue.dispatchMany(Array.from({ length: 40 }, (_, i) => job('t', i).priority(i % 7).runAt(990_000 + ((i * 37) % 40) * 100)))
    await queue.drain()
    const expected = Array.from({ length: 40 }, (_, i) => i).sort((a, b) => ((a * 37) % 40) - ((b * 37) % 40))
    expect(ran).toEqual(expected)
    await queue.close()
  })

  it('is checked', () => {
    expect(() => createQueue({ order: 'fifo' as ClaimOrder })).toThrow(InvalidArgumentError)
  })
})
