import { describe, expect, it } from 'vitest'
import { createQueue, job, type QueueEvent } from '../../src/index.js'

/** Resolves when `predicate` holds for an event, with the real clock of the page. */
function waitFor(events: QueueEvent[], q: { events: { subscribe(l: (e: QueueEvent) => void): () => void } }, predicate: (e: QueueEvent) => boolean) {
  return new Promise<QueueEvent>((resolve) => {
    const hit = events.find(predicate)
    if (hit) return resolve(hit)
    const off = q.events.subscribe((e) => {
      if (predicate(e)) {
        off()
        resolve(e)
      }
    })
  })
}

describe('the engine in Chromium, on the memory store and the real clock', () => {
  it('runs jobs, retries with backoff, and runs a chain step after step', async () => {
    expect(typeof window).toBe('object') // a real page, not Node
    const q = createQueue<{ add: { a: number; b: number }; flaky: null; step: string }>({ concurrency: 4 })
    const events: QueueEvent[] = []
    q.events.subscribe((e) => events.push(e))
    let flakyCalls = 0
    q.register('add', ({ a, b }) => a + b)
    q.register('flaky', () => {
      if (++flakyCalls < 2) throw new Error('network down')
      return 'synced'
    })
    q.register('step', (s, ctx) => `${typeof ctx.previousResult === 'string' ? ctx.previousResult : ''}${s}`)
    await q.start()

    const add = await q.dispatch(job('add', { a: 20, b: 22 }))
    const flaky = await q.dispatch(job('flaky', null).retry(2).backoff(20))
    const chainId = await q.chain(job('step', 'a'), job('step', 'b'), job('step', 'c')).dispatch()

    await waitFor(events, q, (e) => e.kind === 'job:succeeded' && e.jobId === flaky.id)
    await waitFor(events, q, (e) => e.kind === 'chain:completed' && e.chainId === chainId)

    expect(await q.getJob(add.id)).toMatchObject({ state: 'succeeded', result: 42 })
    expect(await q.getJob(flaky.id)).toMatchObject({ state: 'succeeded', attempt: 2, result: 'synced' })
    const chain = await q.findChain(chainId)
    expect(chain.state).toBe('succeeded')
    const last = await q.getJob(chain.steps[2]?.jobId ?? '')
    expect(last?.result).toBe('abc')
    expect(events.some((e) => e.kind === 'job:retrying')).toBe(true)
    await q.stop()
  })

  it('aborts a timed-out attempt through its AbortSignal', async () => {
    const q = createQueue({ concurrency: 1 })
    let aborted = false
    q.register('slow', (_p, ctx) => new Promise((_r, reject) => ctx.signal.addEventListener('abort', () => {
      aborted = true
      reject(ctx.signal.reason)
    })))
    const events: QueueEvent[] = []
    q.events.subscribe((e) => events.push(e))
    await q.start()
    const { id } = await q.dispatch(job('slow', {}).timeout(30).retry(0))
    await waitFor(events, q, (e) => e.kind === 'job:failed' && e.jobId === id)
    expect(aborted).toBe(true)
    expect(await q.getJob(id)).toMatchObject({ state: 'failed', error: { name: 'JobTimeoutError' } })
    await q.stop()
  })
})
