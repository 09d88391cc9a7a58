import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, UnrecoverableError, job, type JobContext } from '../../src/index.js'
import { advance, harness, settle } from '../helpers.js'

describe('chains', () => {
  it('runs steps one after another, passing each result to the next step', async () => {
    const { queue, kinds } = harness({ concurrency: 4 })
    const seen: { step: string; previous: unknown }[] = []
    queue.register('step', (name, ctx) => {
      seen.push({ step: name as string, previous: ctx.previousResult })
      return `${name as string}-done`
    })
    await queue.start()
    const id = await queue.chain(job('step', 'a'), job('step', 'b'), job('step', 'c')).dispatch()
    await settle(10)
    expect(seen).toEqual([
      { step: 'a', previous: undefined },
      { step: 'b', previous: 'a-done' },
      { step: 'c', previous: 'b-done' },
    ])
    const chain = await queue.findChain(id)
    expect(chain).toMatchObject({ id, state: 'succeeded', current: 2 })
    expect(chain.steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded'])
    expect(kinds().filter((k) => k.startsWith('chain:'))).toEqual(['chain:started', 'chain:advanced', 'chain:advanced', 'chain:completed'])
  })

  it('keeps later steps blocked until their predecessor succeeds', async () => {
    const { queue } = harness()
    const id = await queue.chain(job('a', 1), job('b', 2), job('c', 3)).dispatch()
    const chain = await queue.findChain(id)
    expect(chain.steps.map((s) => s.state)).toEqual(['waiting', 'blocked', 'blocked'])
    expect((await queue.counts()).blocked).toBe(2)
  })

  it('enqueues onSuccess and onSettled once when every step succeeded, with ctx.chain', async () => {
    const { queue } = harness()
    const callbacks: { type: string; chain: JobContext['chain'] }[] = []
    queue.register('step', () => 'ok')
    queue.register('done', (_p, ctx) => void callbacks.push({ type: 'done', chain: ctx.chain }))
    queue.register('always', (_p, ctx) => void callbacks.push({ type: 'always', chain: ctx.chain }))
    queue.register('oops', () => void callbacks.push({ type: 'oops', chain: undefined }))
    await queue.start()
    const id = await queue
      .chain(job('step', 1), job('step', 2))
      .onSuccess(job('done', {}))
      .onError(job('oops', {}))
      .onSettled(job('always', {}))
      .dispatch()
    await settle(10)
    expect(callbacks.map((c) => c.type).sort()).toEqual(['always', 'done'])
    expect(callbacks[0]?.chain).toMatchObject({ id, state: 'succeeded' })
  })

  it('fails the chain when a step fails for good: the rest are cancelled, onError and onSettled run', async () => {
    const { queue, kinds } = harness()
    const ran: string[] = []
    let errorSeen: JobContext['error']
    queue.register('step', (n) => {
      ran.push(String(n))
      if (n === 2) throw new UnrecoverableError('step two broke')
    })
    queue.register('oops', (_p, ctx) => void (errorSeen = ctx.error))
    queue.register('always', () => void ran.push('settled'))
    queue.register('done', () => void ran.push('success?!'))
    await queue.start()
    const id = await queue
      .chain(job('step', 1), job('step', 2), job('step', 3), job('step', 4))
      .onSuccess(job('done', {}))
      .onError(job('oops', {}))
      .onSettled(job('always', {}))
      .dispatch()
    await settle(10)
    expect(ran).toEqual(['1', '2', 'settled'])
    expect(errorSeen).toMatchObject({ name: 'UnrecoverableError', message: 'step two broke' })
    const chain = await queue.findChain(id)
    expect(chain.state).toBe('failed')
    expect(chain.steps.map((s) => s.state)).toEqual(['succeeded', 'failed', 'cancelled', 'cancelled'])
    expect(kinds()).toContain('chain:failed')
  })

  it('retries a failing step and then goes on with the chain', async () => {
    const { queue, clock } = harness()
    let tries = 0
    queue.register('flaky', () => {
      if (++tries < 3) throw new Error('try again')
      return 'finally'
    })
    queue.register('after', (_p, ctx) => ctx.previousResult)
    await queue.start()
    const id = await queue.chain(job('flaky', {}).retry(5).backoff(100), job('after', {})).dispatch()
    await advance(clock, 500, 50)
    const chain = await queue.findChain(id)
    expect(chain.state).toBe('succeeded')
    expect(await queue.getJob(chain.steps[1]?.jobId ?? '')).toMatchObject({ result: 'finally' })
    expect(tries).toBe(3)
  })

  it('cancels the chain when a step is cancelled', async () => {
    const { queue } = harness()
    const ran: string[] = []
    queue.register('settled', () => void ran.push('settled'))
    const id = await queue.chain(job('a', 1), job('b', 2)).onSettled(job('settled', {})).dispatch()
    const first = (await queue.findChain(id)).steps[0]?.jobId ?? ''
    expect(await queue.cancel(first)).toBe(true)
    const chain = await queue.findChain(id)
    expect(chain.state).toBe('cancelled')
    expect(chain.steps.map((s) => s.state)).toEqual(['cancelled', 'cancelled'])
    await queue.start()
    await settle()
    expect(ran).toEqual(['settled'])
  })

  it('puts steps on the chain queue unless a step names its own', async () => {
    const { queue } = harness()
    const id = await queue.chain(job('a', 1), job('b', 2).onQueue('other')).onQueue('sync').dispatch()
    const [a, b] = (await queue.findChain(id)).steps
    expect((await queue.getJob(a?.jobId ?? ''))?.queue).toBe('sync')
    expect((await queue.getJob(b?.jobId ?? ''))?.queue).toBe('other')
  })

  it('waits a delayed step out from the time it is released', async () => {
    const { queue, clock } = harness()
    const at: number[] = []
    queue.register('t', () => void at.push(clock.now()))
    await queue.start()
    const t0 = clock.now()
    await queue.chain(job('t', 1), job('t', 2).delay(1000)).dispatch()
    await settle()
    await advance(clock, 999)
    expect(at).toEqual([t0])
    await advance(clock, 1)
    expect(at).toEqual([t0, t0 + 1000])
  })

  it('writes nothing when a chain with a known id is dispatched again, so a retry is safe', async () => {
    const { queue } = harness()
    const a = await queue.chain(job('t', 1), job('t', 2)).withId('import-7').dispatch()
    const b = await queue.chain(job('t', 1), job('t', 2)).withId('import-7').dispatch()
    expect([a, b]).toEqual(['import-7', 'import-7'])
    expect(await queue.listJobs({ chainId: 'import-7' })).toHaveLength(2)
  })

  it('rejects an empty chain', async () => {
    const { queue } = harness()
    await expect(queue.chain().dispatch()).rejects.toBeInstanceOf(InvalidArgumentError)
  })

  it('prunes a finished chain with its jobs', async () => {
    const { queue, clock } = harness()
    queue.register('t', () => 'ok')
    await queue.start()
    const id = await queue.chain(job('t', 1), job('t', 2)).dispatch()
    await settle(5)
    clock.advance(10)
    expect(await queue.prune(clock.now())).toBe(2)
    await expect(queue.findChain(id)).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})
