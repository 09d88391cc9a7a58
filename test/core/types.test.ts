import { describe, expectTypeOf, it } from 'vitest'
import { createQueue, job, type DispatchResult, type JobContext, type QueueEvent } from '../../src/index.js'

type Jobs = { 'email:send': { to: string }; 'report:build': { month: number } }

// These are checked by `tsc` (npm run typecheck): a wrong payload or an unknown type must not
// compile. The runtime part only makes sure the file is a test.
describe('typed job map', () => {
  it('accepts specs that match the job map', () => {
    const q = createQueue<Jobs>()
    expectTypeOf(q.dispatch(job('email:send', { to: 'a@b.c' }))).toEqualTypeOf<Promise<DispatchResult>>()
    expectTypeOf(q.dispatchMany([job('email:send', { to: 'x' }), job('report:build', { month: 3 })])).toEqualTypeOf<Promise<DispatchResult[]>>()
    q.register('email:send', (payload, ctx) => {
      expectTypeOf(payload).toEqualTypeOf<{ to: string }>()
      expectTypeOf(ctx).toEqualTypeOf<JobContext>()
    })
  })

  it('rejects a wrong payload type or an unknown job type at compile time', () => {
    const q = createQueue<Jobs>()
    // @ts-expect-error: `to` must be a string
    void q.dispatch(job('email:send', { to: 42 })).catch(() => {})
    // @ts-expect-error: unknown job type
    void q.dispatch(job('email:sned', { to: 'x' })).catch(() => {})
    // @ts-expect-error: unknown job type in register
    q.register('nope', () => {})
    // @ts-expect-error: the handler's payload type is wrong
    q.register('report:build', (p: { month: string }) => p)
    // @ts-expect-error: one bad spec in a list
    void q.dispatchMany([job('email:send', { to: 'x' }), job('report:build', { month: 'may' })]).catch(() => {})
  })

  it('narrows events by kind', () => {
    const e = {} as QueueEvent
    if (e.kind === 'job:failed') expectTypeOf(e.error.message).toEqualTypeOf<string>()
    if (e.kind === 'batch:completed') expectTypeOf(e.state.total).toEqualTypeOf<number>()
  })

  it('has builders that cannot be awaited by mistake', () => {
    const q = createQueue<Jobs>()
    const chain = q.chain(job('email:send', { to: 'x' }))
    expectTypeOf(chain).not.toHaveProperty('then')
    expectTypeOf(q.batch(job('email:send', { to: 'x' }))).not.toHaveProperty('then')
  })
})
