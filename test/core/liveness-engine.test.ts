import { describe, expect, it } from 'vitest'
import type { Liveness } from '../../src/core/liveness.js'
import { job, memoryStore, type ClaimRequest, type Store } from '../../src/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

const T = 1_000_000
const LEASE = 30_000

/** A liveness the test controls: who is alive, and when a death is heard. */
function fakeLiveness() {
  const alive = new Set<string>()
  const log: string[] = []
  let listener: (() => void) | undefined
  const liveness: Liveness = {
    async hold(owner) {
      log.push('hold')
      alive.add(owner)
      return () => {
        log.push('release')
        alive.delete(owner)
      }
    },
    async alive() {
      log.push('alive')
      return [...alive]
    },
    watch(l) {
      listener = l
      return () => (listener = undefined)
    },
  }
  return { liveness, alive, log, die: (owner: string) => (alive.delete(owner), listener?.()) }
}

/** A memory store with `liveness`, logging each claim and whether it said who is alive. */
function storeWith(liveness: Liveness, log: string[], inner: Store = memoryStore()): Store {
  return {
    ...inner,
    liveness,
    async settleAndClaim(input) {
      if (input.claim) log.push(input.claim.alive ? `claim alive=${input.claim.alive.owners.join(',')}` : 'claim')
      return inner.settleAndClaim(input)
    },
  }
}

/** Leases the ready jobs to an engine of another context, at `now`. */
async function leaseElsewhere(store: Store, owner: string, now: number): Promise<string[]> {
  const claim: ClaimRequest = { owner, token: `${owner}-token`, queues: ['default'], types: ['t'], limit: 10, leaseUntil: now + LEASE }
  return (await store.settleAndClaim({ now, settle: [], claim })).claimed.map((j) => j.id)
}

describe('an engine and the liveness of its store', () => {
  it('takes over at once, on its first claim, a job left leased by an engine that is not alive (job:stalled, attempt counted)', async () => {
    const store = memoryStore()
    const { queue, kinds, clock } = harness({ store })
    const { id } = await queue.dispatch(job('t', 'x'))
    expect(await leaseElsewhere(store, 'engine-of-a-killed-process', T)).toEqual([id])
    clock.advance(1)
    const ran: number[] = []
    queue.register('t', (_p, ctx) => void ran.push(ctx.attempt))
    await queue.start()
    await settle()
    expect(ran).toEqual([2])
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2 })
    expect(kinds()).toContain('job:stalled')
    await queue.close()
  })

  it('leaves alone the job of an engine alive on the same store', async () => {
    const store = memoryStore()
    const a = harness({ store })
    const b = harness({ store, clock: a.clock })
    const gate = deferred()
    a.queue.register('t', () => gate.promise)
    const { id } = await a.queue.dispatch(job('t', 'long'))
    await a.queue.start()
    await settle()
    expect(await a.queue.getJob(id)).toMatchObject({ state: 'active', attempt: 1 })
    a.clock.advance(10)
    const ranOnB: unknown[] = []
    b.queue.register('t', (p) => void ranOnB.push(p))
    await b.queue.dispatch(job('t', 'short'))
    await b.queue.start()
    await settle()
    expect(ranOnB).toEqual(['short'])
    expect(await a.queue.getJob(id)).toMatchObject({ state: 'active', attempt: 1 })
    expect(b.kinds()).not.toContain('job:stalled')
    gate.resolve('done')
    await settle()
    expect(await a.queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    await b.queue.stop()
    await a.queue.close()
  })

  it("holds its owner before its first claim, once for its life, says who is alive in the first claim after start, and again only while claims keep finding dead engines' jobs, and releases on close", async () => {
    const f = fakeLiveness()
    const store = storeWith(f.liveness, f.log)
    const { queue, clock } = harness({ store })
    queue.register('t', () => undefined)
    await queue.dispatch(job('t', 1))
    await queue.start()
    await settle()
    await queue.dispatch(job('t', 2))
    await settle()
    const [first, ...rest] = f.log
    expect(first).toBe('hold')
    expect(f.log.slice(1, 3)).toEqual(['alive', expect.stringMatching(/^claim alive=/)])
    expect(rest.filter((l) => l === 'hold')).toEqual([])
    // The first claim took no dead engine's job: none is left, and later claims do not ask.
    expect(rest.slice(2).every((l) => l === 'claim')).toBe(true)
    await queue.stop()
    f.log.length = 0
    await advance(clock, 5000)
    await queue.start()
    await settle()
    expect(f.log).toEqual(['alive', expect.stringMatching(/^claim alive=/)])
    await queue.close()
    expect(f.log.at(-1)).toBe('release')
    expect(f.alive.size).toBe(0)
  })

  it('takes over the jobs of an engine at once when the liveness hears it died', async () => {
    const f = fakeLiveness()
    const store = storeWith(f.liveness, f.log)
    const { queue, clock, kinds } = harness({ store })
    const { id } = await queue.dispatch(job('t', 'x'))
    f.alive.add('other-tab')
    await leaseElsewhere(store, 'other-tab', T)
    const ran: number[] = []
    queue.register('t', (_p, ctx) => void ran.push(ctx.attempt))
    await queue.start()
    await settle()
    expect(ran).toEqual([])
    await advance(clock, 1000)
    f.die('other-tab')
    await settle()
    expect(ran).toEqual([2])
    expect(kinds()).toContain('job:stalled')
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2 })
    await queue.close()
  })

  it('asks who is alive again when another engine starts a job, at most once a second', async () => {
    const f = fakeLiveness()
    const store = storeWith(f.liveness, f.log)
    const { queue, clock } = harness({ store, concurrency: 4 })
    queue.register('u', () => undefined)
    await queue.start()
    await settle()
    const asked = (): number => f.log.filter((l) => l === 'alive').length
    expect(asked()).toBe(1)
    await queue.dispatch(job('u', 0))
    await settle()
    expect(asked()).toBe(1)
    // Another engine (of type t) starts jobs: the next claim here asks again, once within a second.
    await queue.dispatchMany([job('t', 1), job('t', 2)])
    await leaseElsewhere(store, 'other-tab', clock.now())
    await settle()
    expect(asked()).toBe(1)
    await advance(clock, 1000)
    expect(asked()).toBe(2)
    await queue.dispatch(job('t', 3))
    await leaseElsewhere(store, 'other-tab', clock.now())
    await settle()
    expect(asked()).toBe(2)
    await advance(clock, 1000)
    expect(asked()).toBe(3)
    // Its own starts do not make it ask.
    await queue.dispatchMany([job('u', 4), job('u', 5)])
    await advance(clock, 2000)
    expect(asked()).toBe(3)
    await queue.close()
  })

  it('claims nothing until it holds its owner: a failing hold is reported and tried again', async () => {
    const f = fakeLiveness()
    let failures = 1
    const hold = f.liveness.hold.bind(f.liveness)
    f.liveness.hold = async (owner) => {
      if (failures-- > 0) throw new Error('no locks today')
      return hold(owner)
    }
    const store = storeWith(f.liveness, f.log)
    const { queue, clock, events } = harness({ store })
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    await queue.dispatch(job('t', 'x'))
    await queue.start()
    await settle()
    expect(ran).toEqual([])
    expect(f.log.filter((l) => l.startsWith('claim'))).toEqual([])
    expect(events.filter((e) => e.kind === 'queue:error')).toEqual([expect.objectContaining({ error: expect.objectContaining({ message: 'no locks today' }) })])
    await advance(clock, 100)
    expect(ran).toEqual(['x'])
    await queue.close()
  })

  it('claims without saying who is alive when the liveness cannot tell, and reports it', async () => {
    const f = fakeLiveness()
    f.liveness.alive = () => Promise.reject(new Error('query failed'))
    const store = storeWith(f.liveness, f.log)
    const { queue, events } = harness({ store })
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    await queue.dispatch(job('t', 'x'))
    await queue.start()
    await settle()
    expect(ran).toEqual(['x'])
    expect(f.log.filter((l) => l.startsWith('claim'))[0]).toBe('claim')
    expect(events.filter((e) => e.kind === 'queue:error')).toEqual([expect.objectContaining({ error: expect.objectContaining({ message: 'query failed' }) })])
    await queue.close()
  })
})

describe('an engine whose proof of life is taken from it', () => {
  it('aborts its attempts as lost, and holds again under a new owner before it claims', async () => {
    const held: { owner: string; lost?: () => void }[] = []
    const liveness: Liveness = {
      async hold(owner, onLost) {
        held.push({ owner, ...(onLost ? { lost: onLost } : {}) })
        return () => undefined
      },
      alive: async () => held.map((h) => h.owner),
    }
    const store = storeWith(liveness, [])
    const { queue, kinds } = harness({ store })
    const gate = deferred()
    const reasons: unknown[] = []
    queue.register('t', (_p, ctx) => {
      ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason))
      return gate.promise
    })
    const { id } = await queue.dispatch(job('t', 1))
    await queue.start()
    await settle()
    expect(held).toHaveLength(1)
    held[0]?.lost?.()
    await settle(6)
    expect(reasons[0]).toMatchObject({ code: 'LEASE_LOST' })
    expect(kinds()).toContain('lease:lost')
    expect(kinds()).toContain('queue:error')
    expect(held).toHaveLength(2)
    expect(held[1]?.owner).not.toBe(held[0]?.owner)
    gate.resolve(undefined)
    await queue.close()
    expect(await store.getJob(id).catch(() => 'closed')).toBe('closed')
  })
})
