import { describe, expect, it } from 'vitest'
import type { Liveness } from '../../src/core/liveness.js'
import { JobCancelledError, UnrecoverableError, createQueue, job, memoryStore, type Queue, type Store } from '../../src/index.js'
import { ManualClock, manualConnectivity, type ManualConnectivity } from '../../src/testing/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

/** A memory store that counts the engine's transactions. */
function counting(inner: Store = memoryStore()) {
  const calls = { settleAndClaim: 0, jobsSettled: 0 }
  const store: Store = {
    ...inner,
    async settleAndClaim(input) {
      calls.settleAndClaim++
      calls.jobsSettled += input.settle.length
      return inner.settleAndClaim(input)
    },
  }
  return { store, calls }
}

/** Waits, a real event-loop turn at a time, until `ok` holds (at most `rounds` turns). */
async function until(ok: () => boolean | Promise<boolean>, rounds = 500): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (await ok()) return
    await settle(1)
  }
  throw new Error('never happened')
}

/**
 * An engine at concurrency 1 that has run 100 fast jobs, is now held by a `block` job whose
 * handler waits for `gate`, and has claimed the 40 `after` jobs behind it ahead of time.
 */
async function heldWithJobsAhead(
  o: { store?: Store; connectivity?: ManualConnectivity; clock?: ManualClock; leaseMs?: number; afterNetwork?: 'online'; inBatch?: boolean; firstWaitsForAbort?: boolean } = {},
) {
  const h = harness({ concurrency: 1, ...o })
  const { queue } = h
  const ran: string[] = []
  const gate = deferred()
  const blockStarted = deferred()
  queue.register('fast', (_p, ctx) => void ran.push(ctx.id))
  const aborted: unknown[] = []
  queue.register(
    'after',
    async (_p, ctx) => {
      ran.push(ctx.id)
      if (o.firstWaitsForAbort && ctx.id === 'a0') {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
        aborted.push(ctx.signal.reason)
      }
    },
    o.afterNetwork ? { network: o.afterNetwork } : {},
  )
  queue.register('block', async (_p, ctx) => {
    ran.push(ctx.id)
    blockStarted.resolve(undefined)
    await gate.promise
  })
  await queue.dispatchMany(Array.from({ length: 100 }, (_, i) => job('fast', i).withId(`f${i}`).priority(2)))
  const afterJobs = Array.from({ length: 40 }, (_, i) => job('after', i).withId(`a${i}`))
  let batchId: string | undefined
  let after: string[]
  if (o.inBatch) {
    // 'bad' is a member this engine has no handler for: another engine runs it.
    batchId = await queue.batch(job('block', null).withId('block').priority(1), ...afterJobs, job('bad', null).withId('bad')).dispatch()
    after = afterJobs.map((_, i) => `a${i}`)
  } else {
    await queue.dispatch(job('block', null).withId('block').priority(1))
    after = (await queue.dispatchMany(afterJobs)).map((r) => r.id)
  }
  await queue.start()
  await blockStarted.promise
  // The jobs behind the held slot are leased to the engine, none of them started.
  await until(async () => (await queue.counts()).active === 41)
  expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
  return { ...h, ran, gate, after, batchId, aborted }
}

async function statesOf(queue: Queue, ids: string[]) {
  return Promise.all(ids.map(async (id) => (await queue.getJob(id))?.state))
}

describe('claiming ahead', () => {
  it('runs many fast jobs per store transaction, each once', async () => {
    const { store, calls } = counting()
    const { queue } = harness({ store, concurrency: 1 })
    const runs = new Map<number, number>()
    queue.register('t', (p) => void runs.set(p as number, (runs.get(p as number) ?? 0) + 1))
    await queue.dispatchMany(Array.from({ length: 2000 }, (_, i) => job('t', i)))
    await queue.drain()
    expect(runs.size).toBe(2000)
    expect([...runs.values()].every((n) => n === 1)).toBe(true)
    expect((await queue.counts()).succeeded).toBe(2000)
    expect(calls.jobsSettled).toBe(2000)
    expect(calls.settleAndClaim).toBeLessThanOrEqual(2000 / 4)
    await queue.close()
  })

  it('runs fast jobs at concurrency 8 with far fewer transactions than jobs', async () => {
    const { store, calls } = counting()
    const { queue } = harness({ store, concurrency: 8 })
    let n = 0
    queue.register('t', () => void n++)
    await queue.dispatchMany(Array.from({ length: 2000 }, (_, i) => job('t', i)))
    await queue.drain()
    expect(n).toBe(2000)
    expect(calls.settleAndClaim).toBeLessThanOrEqual(2000 / 16)
    await queue.close()
  })

  it('keeps priority order among jobs dispatched before start', async () => {
    const { queue } = harness({ concurrency: 1 })
    const order: number[] = []
    queue.register('t', (p) => void order.push(p as number))
    await queue.dispatchMany(Array.from({ length: 600 }, (_, i) => job('t', i % 7).priority(i % 7)))
    await queue.drain()
    expect(order).toHaveLength(600)
    expect(order).toEqual([...order].sort((a, b) => b - a))
    await queue.close()
  })

  it('starts a more urgent job dispatched meanwhile after at most 64 jobs claimed ahead at concurrency 1', async () => {
    const { queue } = harness({ concurrency: 1 })
    const order: string[] = []
    queue.register('t', async (i, ctx) => {
      order.push(ctx.id)
      if (i === 100) await queue.dispatch(job('t', -1).withId('urgent').priority(10))
    })
    await queue.dispatchMany(Array.from({ length: 400 }, (_, i) => job('t', i).withId(`j${i}`)))
    await queue.drain()
    expect(order).toHaveLength(401)
    expect(new Set(order).size).toBe(401)
    const ranBefore = order.indexOf('urgent') - order.indexOf('j100') - 1
    expect(ranBefore).toBeLessThanOrEqual(64)
    await queue.close()
  })

  it('does not hoard slow jobs: two engines on one store share them', async () => {
    const store = memoryStore()
    const a = createQueue({ store, concurrency: 1 })
    const b = createQueue({ store, concurrency: 1 })
    const ranOn: Record<string, string[]> = { a: [], b: [] }
    for (const [name, q] of [['a', a], ['b', b]] as const) {
      q.register('fast', () => undefined)
      q.register('slow', async (_p, ctx) => {
        ranOn[name]?.push(ctx.id)
        await new Promise((r) => setTimeout(r, 30))
      })
    }
    // Engine a alone first learns that jobs are fast, then slow jobs come.
    await a.dispatchMany(Array.from({ length: 300 }, (_, i) => job('fast', i)))
    await a.drain()
    await a.dispatchMany(Array.from({ length: 16 }, (_, i) => job('slow', i).withId(`s${i}`)))
    await Promise.all([a.start(), b.start()])
    await until(async () => (await a.counts()).succeeded === 316, 5000)
    expect([...(ranOn.a ?? []), ...(ranOn.b ?? [])].sort()).toEqual(Array.from({ length: 16 }, (_, i) => `s${i}`).sort())
    expect(ranOn.a?.length).toBeGreaterThanOrEqual(3)
    expect(ranOn.b?.length).toBeGreaterThanOrEqual(3)
    await Promise.all([a.close(), b.close()])
  })
})

describe('jobs claimed ahead', () => {
  it('go back at once on stop, their attempts not spent and their handlers never run', async () => {
    const { queue, ran, gate, after } = await heldWithJobsAhead()
    const stopped = queue.stop({ timeoutMs: 60_000 })
    await until(async () => (await statesOf(queue, after)).every((s) => s === 'waiting'))
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    gate.resolve(undefined)
    await stopped
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    await queue.start()
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a')).sort()).toEqual([...after].sort())
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await queue.close()
  })

  it('go back when their queue is paused, their handlers never run', async () => {
    const { queue, ran, gate, after } = await heldWithJobsAhead()
    queue.pause()
    gate.resolve(undefined)
    // The release of the jobs ahead and the settlement of the running one may be one turn or two.
    await until(async () => (await statesOf(queue, after)).every((s) => s === 'waiting') && (await queue.getJob('block'))?.state === 'succeeded')
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    queue.resume()
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a'))).toHaveLength(40)
    await queue.close()
  })

  it('go back at once when their queue is paused, while the slot is still held', async () => {
    const { queue, ran, gate, after } = await heldWithJobsAhead()
    queue.pause()
    // The clock stands still and the slot stays busy: only the pause can send them back.
    await until(async () => (await statesOf(queue, after)).every((s) => s === 'waiting'))
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    gate.resolve(undefined)
    await until(async () => (await queue.getJob('block'))?.state === 'succeeded')
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    await queue.close()
  })

  it('of a type that needs the network go back at once when it goes away', async () => {
    const net = manualConnectivity(true)
    const { queue, ran, gate, after } = await heldWithJobsAhead({ connectivity: net, afterNetwork: 'online' })
    net.set(false)
    await until(async () => (await statesOf(queue, after)).every((s) => s === 'waiting'))
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    gate.resolve(undefined)
    await until(async () => (await queue.getJob('block'))?.state === 'succeeded')
    await settle()
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    net.set(true)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a'))).toHaveLength(40)
    await queue.close()
  })

  it('end cancelled when cancelled, their handlers never run', async () => {
    const { queue, ran, gate, after } = await heldWithJobsAhead()
    const [first, second] = after as [string, string]
    expect(await queue.cancel(first)).toBe(true)
    expect(await queue.cancel(second)).toBe(true)
    gate.resolve(undefined)
    await queue.drain()
    expect(await queue.getJob(first)).toMatchObject({ state: 'cancelled' })
    expect(await queue.getJob(second)).toMatchObject({ state: 'cancelled' })
    expect(ran).not.toContain(first)
    expect(ran).not.toContain(second)
    expect(ran.filter((id) => id.startsWith('a'))).toHaveLength(38)
    await queue.close()
  })

  it('keep their leases while they wait: renewed with the running ones', async () => {
    const { queue, store, ran, gate, after, clock } = await heldWithJobsAhead({ leaseMs: 90 })
    const claimedUntil = (await store.getJob('a0'))?.lease?.until as number
    // A renewal falls due every third of the lease; the held slot has not stalled the buffer yet.
    await advance(clock, 40, 10)
    for (const id of after) {
      const j = await store.getJob(id)
      expect(j).toMatchObject({ state: 'active', attempt: 0, ahead: true })
      expect(j?.lease?.until).toBeGreaterThan(claimedUntil)
    }
    gate.resolve(undefined)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a')).sort()).toEqual([...after].sort())
    for (const id of [...after, 'block']) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await queue.close()
  })

  it('go back, once, when the slot stays held: a slow attempt does not hoard them', async () => {
    const { queue, ran, gate, after, clock, events } = await heldWithJobsAhead()
    await advance(clock, 1000, 100)
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(events.filter((e) => e.kind === 'job:deferred')).toHaveLength(40)
    gate.resolve(undefined)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a')).sort()).toEqual([...after].sort())
    await queue.close()
  })

  it('are not started: no job:started until their handler starts, then attempt 1', async () => {
    const { queue, gate, after, events } = await heldWithJobsAhead()
    const startedIds = () => events.flatMap((e) => (e.kind === 'job:started' ? [e.jobId] : []))
    expect(startedIds().filter((id) => after.includes(id))).toEqual([])
    gate.resolve(undefined)
    await queue.drain()
    expect(startedIds().filter((id) => after.includes(id))).toEqual(after)
    const attempts = events.flatMap((e) => (e.kind === 'job:started' && after.includes(e.jobId) ? [e.attempt] : []))
    expect(attempts.every((n) => n === 1)).toBe(true)
    await queue.close()
  })

  it('of a cancelled batch are cancelled with it, their handlers never run', async () => {
    const { queue, ran, gate, after, batchId } = await heldWithJobsAhead({ inBatch: true })
    await queue.cancelBatch(batchId as string)
    gate.resolve(undefined)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    expect(await statesOf(queue, after)).toEqual(after.map(() => 'cancelled'))
    expect(await queue.findBatch(batchId as string)).toMatchObject({ state: 'cancelled', cancelled: 41, succeeded: 1 })
    await queue.close()
  })

  it('of a batch that fails are cancelled with it, their handlers never run', async () => {
    const { queue, store, clock, ran, gate, after, batchId } = await heldWithJobsAhead({ inBatch: true })
    const other = createQueue({ store, clock })
    other.register('bad', () => {
      throw new UnrecoverableError('bad')
    })
    await other.drain()
    expect(await queue.findBatch(batchId as string)).toMatchObject({ state: 'failed', failed: 1, cancelled: 40 })
    expect(await statesOf(queue, after)).toEqual(after.map(() => 'cancelled'))
    gate.resolve(undefined)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    await other.close()
    await queue.close()
  })

  it('of a batch cancelled on a store without watch are dropped, their handlers never run', async () => {
    const { watch: _, ...unwatched } = memoryStore()
    const { queue, ran, gate, after, batchId } = await heldWithJobsAhead({ store: unwatched, inBatch: true })
    await queue.cancelBatch(batchId as string)
    gate.resolve(undefined)
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    expect(await statesOf(queue, after)).toEqual(after.map(() => 'cancelled'))
    await queue.close()
  })

  it('cancelled through another queue on the same store are stopped as running jobs are, and end cancelled', async () => {
    const { queue, store, clock, ran, gate, after, events } = await heldWithJobsAhead()
    const other = createQueue({ store, clock })
    const [first] = after as [string]
    expect(await other.cancel(first)).toBe(true)
    // The store cannot know whether its handler started already: it asks the engine to stop it.
    expect(await queue.getJob(first)).toMatchObject({ state: 'active' })
    gate.resolve(undefined)
    await queue.drain()
    expect(await queue.getJob(first)).toMatchObject({ state: 'cancelled' })
    expect(events.some((e) => e.kind === 'job:succeeded' && e.jobId === first)).toBe(false)
    for (const id of after.slice(1)) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(ran.filter((id) => id.startsWith('a') && id !== first)).toHaveLength(39)
    await other.close()
    await queue.close()
  })

  it('cancelled where the engine does not hear it have their handlers aborted once the start is told', async () => {
    const inner = memoryStore()
    const { watch: _, ...unwatched } = inner
    const { queue, ran, gate, after, aborted, events } = await heldWithJobsAhead({ store: unwatched, firstWaitsForAbort: true })
    const other = createQueue({ store: inner })
    const [first] = after as [string]
    expect(await other.cancel(first)).toBe(true)
    gate.resolve(undefined)
    await until(() => aborted.length > 0)
    expect(aborted[0]).toBeInstanceOf(JobCancelledError)
    expect(events.some((e) => e.kind === 'lease:lost' && e.jobId === first)).toBe(false)
    await queue.drain()
    expect(await queue.getJob(first)).toMatchObject({ state: 'cancelled', attempt: 1 })
    expect(ran.filter((id) => id.startsWith('a'))).toHaveLength(40)
    for (const id of after.slice(1)) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await other.close()
    await queue.close()
  })

  it('keep their place in claim order when they go back', async () => {
    const { queue, store, clock, ran, gate, after } = await heldWithJobsAhead()
    const runAts = await Promise.all(after.map(async (id) => (await store.getJob(id))?.runAt))
    clock.advance(10)
    queue.pause()
    await until(async () => (await statesOf(queue, after)).every((s) => s === 'waiting'))
    expect(await Promise.all(after.map(async (id) => (await store.getJob(id))?.runAt))).toEqual(runAts)
    await queue.dispatch(job('after', 'late').withId('late'))
    gate.resolve(undefined)
    queue.resume()
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a') || id === 'late')).toEqual([...after, 'late'])
    await queue.close()
  })

  it('do not start once their leases are known lost: they go back and run once', async () => {
    const inner = memoryStore()
    let stalled = false
    const hung: (() => void)[] = []
    const store: Store = {
      ...inner,
      settleAndClaim: (input) =>
        stalled ? new Promise((resolve, reject) => hung.push(() => void inner.settleAndClaim(input).then(resolve, reject))) : inner.settleAndClaim(input),
      renew: (input) => (stalled ? Promise.reject(new Error('the disk stalled')) : inner.renew(input)),
    }
    const clock = new ManualClock(1_000_000)
    const { queue, ran, gate, after } = await heldWithJobsAhead({ store, clock, leaseMs: 90 })
    stalled = true
    // A turn is under way and hangs: no sweep sends the buffer back meanwhile.
    await queue.dispatch(job('fast', 'x'))
    await until(() => hung.length > 0)
    await advance(clock, 300, 30)
    gate.resolve(undefined)
    await settle(10)
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    stalled = false
    for (const f of hung.splice(0)) f()
    await queue.drain()
    expect(ran.filter((id) => id.startsWith('a')).sort()).toEqual([...after].sort())
    for (const id of after) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await queue.close()
  })

  it("of a dead engine are taken over at once by another engine, each run once", async () => {
    const f = fakeLiveness()
    const inner = memoryStore()
    let frozen = false
    const never = new Promise<never>(() => undefined)
    // The first engine's process is killed: its store calls never return.
    const dying: Store = {
      ...inner,
      liveness: f.liveness,
      settleAndClaim: (input) => (frozen ? never : inner.settleAndClaim(input)),
      renew: (input) => (frozen ? never : inner.renew(input)),
    }
    const clock = new ManualClock(1_000_000)
    const { ran, after } = await heldWithJobsAhead({ store: dying, clock })
    frozen = true
    const [owner] = f.alive
    f.die(owner as string)
    clock.advance(1)
    const b = createQueue({ store: { ...inner, liveness: f.liveness }, clock, concurrency: 4 })
    const ranOnB: string[] = []
    b.register('after', (_p, ctx) => void ranOnB.push(ctx.id))
    b.register('block', (_p, ctx) => void ranOnB.push(ctx.id))
    await b.drain()
    expect(ranOnB.filter((id) => id.startsWith('a')).sort()).toEqual([...after].sort())
    expect(ran.filter((id) => id.startsWith('a'))).toEqual([])
    // They never started on the dead engine: no attempt of theirs was spent there.
    for (const id of after) expect(await b.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    expect(await b.getJob('block')).toMatchObject({ state: 'succeeded', attempt: 2 })
    await b.close()
  })
})

/** A liveness spanning engines of this realm that the test can declare dead. */
function fakeLiveness() {
  const alive = new Set<string>()
  let listener: (() => void) | undefined
  const liveness: Liveness = {
    async hold(owner) {
      alive.add(owner)
      return () => void alive.delete(owner)
    },
    async alive() {
      return [...alive]
    },
    watch(l) {
      listener = l
      return () => (listener = undefined)
    },
  }
  return { liveness, alive, die: (owner: string) => (alive.delete(owner), listener?.()) }
}
