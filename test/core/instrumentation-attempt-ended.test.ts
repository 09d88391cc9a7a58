import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, JobDeferredError, JobSkippedError, job, type Instrumentation, type JobContext } from '../../src/index.js'
import type { AttemptEnd } from '../../src/core/instrumentation.js'
import { memoryStore } from '../../src/index.js'
import { createTestQueue, manualConnectivity, type TestQueue } from '../../src/testing/index.js'
import { advance, deferred, harness, settle } from '../helpers.js'

/** An instrumentation that keeps each attempt's end, with the id and attempt of its ctx. */
function ends(): { seen: Array<[string, number, AttemptEnd['outcome'], string | undefined]>; instrumentation: Instrumentation } {
  const seen: Array<[string, number, AttemptEnd['outcome'], string | undefined]> = []
  return {
    seen,
    instrumentation: {
      attemptEnded(ctx: JobContext, end: AttemptEnd) {
        seen.push([ctx.type, ctx.attempt, end.outcome, end.error?.message])
      },
    },
  }
}

function errorsOf(q: TestQueue): string[] {
  const errors: string[] = []
  q.events.subscribe((e) => {
    if (e.kind === 'queue:error') errors.push(e.error.message)
  })
  return errors
}

describe('Instrumentation.attemptEnded', () => {
  it('hears each attempt once with the outcome the engine decided', async () => {
    const { seen, instrumentation } = ends()
    const q = createTestQueue({ instrumentation: [instrumentation] })
    let flaky = 0
    q.register('ok', async () => 'done')
    q.register('flaky', async () => {
      if (++flaky === 1) throw new Error('once')
    })
    q.register('bad', async () => {
      throw new Error('always')
    })
    let later = 0
    q.register('later', async () => {
      if (++later === 1) throw new JobDeferredError(10)
    })
    q.register('skip', async () => {
      throw new JobSkippedError('nothing to do')
    })
    await q.dispatch(job('ok', {}))
    await q.dispatch(job('flaky', {}).retry(1).backoff(10))
    await q.dispatch(job('bad', {}).retry(0))
    await q.dispatch(job('later', {}))
    await q.dispatch(job('skip', {}))
    await q.runUntilIdle()
    await q.advance(10)
    await q.runUntilIdle()
    expect(seen.sort()).toEqual(
      [
        ['ok', 1, 'succeeded', undefined],
        ['flaky', 1, 'retrying', 'once'],
        ['flaky', 2, 'succeeded', undefined],
        ['bad', 1, 'failed', 'always'],
        ['later', 1, 'deferred', undefined],
        ['later', 1, 'succeeded', undefined],
        ['skip', 1, 'skipped', undefined],
      ].sort(),
    )
    await q.close()
  })

  it('hears a timeout when it happens, though the handler never returns, and a failure offline as deferred', async () => {
    const { seen, instrumentation } = ends()
    const net = manualConnectivity(true)
    const q = createTestQueue({ connectivity: net, instrumentation: [instrumentation] })
    q.register('hang', () => new Promise(() => {}))
    q.register('upload', async () => {
      net.set(false)
      throw new TypeError('Failed to fetch')
    }, { network: 'online' })
    await q.dispatch(job('hang', {}).timeout(1000).retry(0))
    await q.dispatch(job('upload', {}).retry(0))
    await q.runUntilIdle()
    await q.advance(1000)
    await q.runUntilIdle()
    expect(seen.sort()).toEqual([
      ['hang', 1, 'failed', 'job ' + (await q.listJobs({ type: 'hang' }))[0]?.id + ' timed out after 1000 ms'],
      ['upload', 1, 'deferred', undefined],
    ])
    await q.close({ timeoutMs: 10 })
  })

  it('hears a lost lease as lost when the engine finds it, though the handler never returns', async () => {
    const { seen, instrumentation } = ends()
    const store = memoryStore()
    const { queue, clock } = harness({ store, leaseMs: 1000, instrumentation: [instrumentation] })
    const gate = deferred()
    queue.register('t', () => gate.promise)
    await queue.start()
    await queue.dispatch(job('t', {}).withId('j'))
    await settle()
    clock.advance(5000)
    await store.settleAndClaim({
      now: clock.now(),
      settle: [],
      claim: { owner: 'other', token: 'tok-other', queues: ['default'], types: ['t'], limit: 1, leaseUntil: clock.now() + 60_000 },
    })
    expect(seen).toEqual([])
    await advance(clock, 1000)
    expect(seen).toEqual([['t', 1, 'lost', 'job j is no longer leased to this engine']])
    gate.resolve(undefined)
    await settle()
    expect(seen.length).toBe(1)
    await queue.close({ timeoutMs: 10 })
  })

  it('reports what it throws or rejects with as queue:error, and the job runs once and succeeds', async () => {
    const q = createTestQueue({
      instrumentation: [
        {
          attemptEnded() {
            throw new Error('observer boom')
          },
        },
        // A promise returned where nothing is expected: its rejection is reported all the same.
        // eslint-disable-next-line @typescript-eslint/no-misused-promises
        { attemptEnded: () => Promise.reject(new Error('async observer boom')) },
      ],
    })
    const errors = errorsOf(q)
    let runs = 0
    q.register('w', async () => void runs++)
    const { id } = await q.dispatch(job('w', {}).retry(2))
    await q.runUntilIdle()
    expect(runs).toBe(1)
    expect(await q.getJob(id)).toMatchObject({ state: 'succeeded' })
    expect(errors.sort()).toEqual(['async observer boom', 'observer boom'])
    await q.close()
  })

  it('is called on the instrumentation it belongs to, and runs inside its middleware', async () => {
    const order: string[] = []
    class Observer implements Instrumentation {
      name = 'mine'
      middleware = async (_ctx: JobContext, next: () => Promise<unknown>) => {
        order.push('before')
        const out = await next()
        order.push('after')
        return out
      }
      attemptEnded(): void {
        order.push(`ended by ${this.name}`)
      }
    }
    const q = createTestQueue({ instrumentation: [new Observer()] })
    q.register('w', async () => void order.push('handler'))
    await q.dispatch(job('w', {}))
    await q.runUntilIdle()
    expect(order).toEqual(['before', 'handler', 'after', 'ended by mine'])
    await q.close()
  })

  it('refuses an attemptEnded that is no function', () => {
    expect(() => createTestQueue({ instrumentation: [{ attemptEnded: 5 } as unknown as Instrumentation] })).toThrow(InvalidArgumentError)
  })
})

describe('aroundDispatch', () => {
  it('gets the caller the write once it settled, though the aroundDispatch that ran it never settles', async () => {
    const q = createTestQueue({
      instrumentation: [
        {
          aroundDispatch: (_call, run) => {
            void run()
            return new Promise(() => {})
          },
        },
      ],
    })
    q.register('w', async () => 'ok')
    const { id } = await q.dispatch(job('w', {}))
    expect(await q.getJob(id)).toBeDefined()
    await q.close()
  })
})
