import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, createQueue, job, memoryStore, type DispatchCall, type DispatchedJob, type Instrumentation, type Middleware, type Store } from '../../src/index.js'
import { withPrepare } from '../../src/core/job-spec.js'
import { harness, settle } from '../helpers.js'

/** What an instrumentation saw, with the "active context" it set around `run`, as a tracer does. */
function recorder(name: string, add?: (j: DispatchedJob) => Record<string, string> | void) {
  const calls: DispatchCall[] = []
  const jobs: Array<DispatchedJob & { context: string | undefined }> = []
  const outcomes: Array<'resolved' | 'rejected'> = []
  const instrumentation: Instrumentation = {
    async aroundDispatch(call, run) {
      calls.push(call)
      const outer = active
      active = `${name}:${calls.length}`
      try {
        const p = run()
        active = outer
        const v = await p
        outcomes.push('resolved')
        return v
      } catch (err) {
        outcomes.push('rejected')
        throw err
      } finally {
        active = outer
      }
    },
    onDispatch(j) {
      jobs.push({ ...j, context: active })
      return add?.(j)
    },
  }
  return { instrumentation, calls, jobs, outcomes }
}

/** The "active context": set synchronously around `run`, as a tracer's context manager does. */
let active: string | undefined

function marking(trail: string[], name: string): Middleware {
  return async (_ctx, next) => {
    trail.push(`${name}>`)
    const r = await next()
    trail.push(`<${name}`)
    return r
  }
}

describe('instrumentation', () => {
  it('wraps each attempt outside the middleware of the options, the first instrumentation outermost', async () => {
    const trail: string[] = []
    const { queue } = harness({
      middleware: [marking(trail, 'm1'), marking(trail, 'm2')],
      instrumentation: [{ middleware: marking(trail, 'i1') }, {}, { middleware: marking(trail, 'i2') }],
    })
    queue.register('t', () => void trail.push('handler'))
    await queue.start()
    await queue.dispatch(job('t', {}))
    await settle()
    expect(trail).toEqual(['i1>', 'i2>', 'm1>', 'm2>', 'handler', '<m2', '<m1', '<i2', '<i1'])
    await queue.close()
  })

  it('wraps every kind of dispatch with aroundDispatch, the first outermost, and tells what it writes', async () => {
    const order: string[] = []
    const outer: Instrumentation = {
      async aroundDispatch(call, run) {
        order.push(`outer>${call.kind}`)
        const v = await run()
        order.push(`<outer`)
        return v
      },
    }
    const inner = recorder('inner')
    const { queue } = harness({ instrumentation: [outer, inner.instrumentation] })
    await queue.dispatch(job('t', 1).onQueue('b'))
    await queue.dispatchMany([job('t', 2).onQueue('b'), job('t', 3), job('t', 4).onQueue('a')])
    await queue.chain(job('t', 5), job('t', 6)).onQueue('c').withId('ch1').onSuccess(job('done', 0)).dispatch()
    await queue.batch(job('t', 7), job('t', 8).onQueue('a')).withId('b1').onSettled(job('done', 0)).dispatch()
    expect(inner.calls).toEqual([
      { kind: 'job', count: 1, queues: ['b'] },
      { kind: 'jobs', count: 3, queues: ['a', 'b', 'default'] },
      { kind: 'chain', id: 'ch1', count: 2, queues: ['c'] },
      { kind: 'batch', id: 'b1', count: 2, queues: ['a', 'default'] },
    ])
    expect(order).toEqual(['outer>job', '<outer', 'outer>jobs', '<outer', 'outer>chain', '<outer', 'outer>batch', '<outer'])
    // Steps and members only: a callback is not dispatched by the caller.
    expect(inner.jobs.map((j) => j.queue)).toEqual(['b', 'b', 'default', 'a', 'c', 'c', 'default', 'a'])
    expect(inner.outcomes).toEqual(['resolved', 'resolved', 'resolved', 'resolved'])
    await queue.close()
  })

  it('calls onDispatch synchronously, in the context aroundDispatch made active, with the ids that get stored', async () => {
    const r = recorder('trace', (j) => ({ seen: j.id }))
    const { queue } = harness({ instrumentation: [r.instrumentation] })
    const pending = queue.dispatchMany([job('t', 1), job('t', 2).withId('mine')])
    // Before the caller's first await: what a tracer reads is still the dispatch's context.
    expect(r.jobs.map((j) => j.context)).toEqual(['trace:1', 'trace:1'])
    const results = await pending
    expect(r.jobs.map((j) => j.id)).toEqual(results.map((x) => x.id))
    expect(results[1]?.id).toBe('mine')
    for (const { id } of results) expect((await queue.getJob(id))?.meta).toEqual({ seen: id })

    const chain = queue.chain(job('t', 3), job('t', 4).withId('s2')).dispatch()
    expect(r.jobs.slice(2).map((j) => j.context)).toEqual(['trace:2', 'trace:2'])
    const chainId = await chain
    const steps = (await queue.findChain(chainId)).steps.map((s) => s.jobId)
    expect(r.jobs.slice(2).map((j) => j.id)).toEqual(steps)
    expect(steps[1]).toBe('s2')

    const batch = queue.batch(job('t', 5), job('t', 6)).dispatch()
    expect(r.jobs.slice(4).map((j) => j.context)).toEqual(['trace:3', 'trace:3'])
    const batchId = await batch
    expect([...(await queue.findBatch(batchId)).jobIds].sort()).toEqual(r.jobs.slice(4).map((j) => j.id).sort())
    await queue.close()
  })

  it('calls onDispatch before a payload made at dispatch is awaited, ids drawn first', async () => {
    const r = recorder('trace', () => ({ traceparent: 'tp' }))
    const { queue } = harness({ instrumentation: [r.instrumentation] })
    const slow = withPrepare(job<string, unknown>('t', null), async () => {
      await new Promise((res) => setTimeout(res, 5))
      return { made: true }
    })
    const pending = queue.dispatch(slow)
    expect(r.jobs).toHaveLength(1)
    expect(r.jobs[0]?.context).toBe('trace:1')
    const { id } = await pending
    expect(r.jobs[0]?.id).toBe(id)
    expect(await queue.getJob(id)).toMatchObject({ payload: { made: true }, meta: { traceparent: 'tp' } })

    const chain = queue.chain(slow, job('t', 2)).dispatch()
    expect(r.jobs).toHaveLength(3)
    expect(r.jobs[1]?.context).toBe('trace:2')
    expect((await queue.findChain(await chain)).steps.map((s) => s.jobId)).toEqual([r.jobs[1]?.id, r.jobs[2]?.id])
    await queue.close()
  })

  it("stores what onDispatch returns under the spec's meta: the spec's keys win, then the first instrumentation's", async () => {
    const first = recorder('a', () => ({ traceparent: 'from-a', shared: 'a' }))
    const second = recorder('b', () => ({ shared: 'b', only: 'b', userId: 'b' }))
    const { queue } = harness({ instrumentation: [first.instrumentation, second.instrumentation] })
    const { id } = await queue.dispatch(job('t', 1).meta({ userId: 'u1', n: 2 }))
    expect(first.jobs[0]?.meta).toEqual({ userId: 'u1', n: 2 })
    expect((await queue.getJob(id))?.meta).toEqual({ traceparent: 'from-a', shared: 'a', only: 'b', userId: 'u1', n: 2 })
    await queue.close()
  })

  it('lets aroundDispatch see a dispatch that fails, and rejects the caller with its error', async () => {
    const store = memoryStore()
    const failing: Store = { ...store, insert: async () => Promise.reject(new Error('disk full')) }
    const r = recorder('trace')
    const queue = createQueue({ store: failing, instrumentation: [r.instrumentation] })
    await expect(queue.dispatch(job('t', 1))).rejects.toThrow('disk full')
    await expect(queue.chain(job('t', 1)).dispatch()).rejects.toThrow('disk full')
    expect(r.outcomes).toEqual(['rejected', 'rejected'])
    await store.close()
  })

  it('never loses a dispatch to a faulty instrumentation: it is reported as queue:error and left out', async () => {
    const { queue, events } = harness({
      instrumentation: [
        { onDispatch: () => ({ ok: 'yes' }) },
        {
          onDispatch: () => {
            throw new Error('onDispatch broke')
          },
        },
        { onDispatch: () => ({ n: 1 }) as unknown as Record<string, string> },
        { onDispatch: () => 'x' as unknown as Record<string, string> },
        { onDispatch: () => ({ big: 'x'.repeat(5000) }) },
        {
          aroundDispatch: () => {
            throw new Error('aroundDispatch broke')
          },
        },
        { aroundDispatch: async () => Promise.reject(new Error('rejected before run')) },
        { aroundDispatch: async () => 'never ran' as never },
        {
          async aroundDispatch(_call, run) {
            await run()
            throw new Error('broke after run')
          },
        },
        {
          async aroundDispatch(_call, run) {
            await run()
            return run()
          },
        },
      ],
    })
    const { id, duplicate } = await queue.dispatch(job('t', 1).withId('j1').meta({ mine: true }))
    expect({ id, duplicate }).toEqual({ id: 'j1', duplicate: false })
    expect((await queue.getJob('j1'))?.meta).toEqual({ ok: 'yes', mine: true })
    const errors = events.filter((e) => e.kind === 'queue:error').map((e) => (e.kind === 'queue:error' ? e.error.message : ''))
    // Each wrapper's fault as it shows, outermost first; onDispatch runs inside the innermost. An
    // async aroundDispatch that rejects before run has returned without calling it: that is
    // told at once (the write starts then), its rejection once it comes.
    expect(errors).toEqual([
      expect.stringContaining('aroundDispatch broke'),
      expect.stringContaining('without calling run'),
      expect.stringContaining('without calling run'),
      expect.stringContaining('onDispatch broke'),
      expect.stringContaining('strings'),
      expect.stringContaining('strings'),
      expect.stringContaining('4096'),
      expect.any(String),
      expect.any(String),
      expect.any(String),
    ])
    // Faults told after the write settled, in the order their promises settle.
    expect(errors.slice(-3).sort()).toEqual([
      'broke after run',
      'rejected before run',
      'run() called more than once in an aroundDispatch of the instrumentation',
    ])
    expect(await queue.listJobs()).toHaveLength(1)
    await queue.close()
  })

  it('is checked: an array of objects whose members are functions', () => {
    const bad: unknown[] = ['x', [null], [1], [{ onDispatch: 'no' }], [{ middleware: {} }], [{ aroundDispatch: 1 }]]
    for (const instrumentation of bad) {
      expect(() => createQueue({ instrumentation: instrumentation as Instrumentation[] })).toThrow(InvalidArgumentError)
    }
    expect(() => createQueue({ instrumentation: [] })).not.toThrow()
  })

  it('leaves a dispatch without instrumentation as it was: no queue:error, meta only from the spec', async () => {
    const { queue, kinds } = harness()
    const { id } = await queue.dispatch(job('t', 1).meta({ a: 'b' }))
    expect((await queue.getJob(id))?.meta).toEqual({ a: 'b' })
    expect(kinds()).not.toContain('queue:error')
    await queue.close()
  })
})
