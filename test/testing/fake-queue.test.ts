import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, job } from '../../src/index.js'
import { withPrepare } from '../../src/core/job-spec.js'
import { AssertionError, createFakeQueue } from '../../src/testing/index.js'

type Jobs = { 'email:send': { to: string }; 'photo:upload': { name: string }; 'album:done': null }

/** The message of the AssertionError `fn` throws; fails the test when it does not throw one. */
function failure(fn: () => void): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(AssertionError)
    return (err as Error).message
  }
  throw new Error('expected the assertion to fail')
}

describe('createFakeQueue', () => {
  it('records the payload made at dispatch, as the real queue stores it, and refuses it with a transaction', async () => {
    const q = createFakeQueue<Jobs>()
    const later = (name: string) => withPrepare(job('photo:upload', { name: 'pending' }), async () => ({ name }))
    await q.dispatch(later('a.jpg'))
    await q.dispatchMany([later('b.jpg')])
    await q.chain(later('c.jpg')).onSuccess(later('d.jpg')).dispatch()
    await q.batch(later('e.jpg')).onSettled(later('f.jpg')).dispatch()
    await q.schedule('nightly', '@daily', later('g.jpg'))
    expect(q.recorded.jobs.map((j) => (j.payload as { name: string }).name)).toEqual(['a.jpg', 'b.jpg', 'c.jpg', 'e.jpg'])
    expect(q.recorded.chains[0]?.onSuccess?.payload).toEqual({ name: 'd.jpg' })
    expect(q.recorded.batches[0]?.onSettled?.payload).toEqual({ name: 'f.jpg' })
    expect(q.recorded.schedules[0]?.job.payload).toEqual({ name: 'g.jpg' })
    expect(q.recorded.jobs.every((j) => j.options.prepare === undefined)).toBe(true)
    await expect(q.dispatch(later('h.jpg'), { tx: {} })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(q.chain(later('i.jpg')).dispatch({ tx: {} })).rejects.toBeInstanceOf(InvalidArgumentError)
    await expect(q.batch(job('photo:upload', { name: 'j.jpg' })).onSuccess(later('k.jpg')).dispatch({ tx: {} })).rejects.toBeInstanceOf(InvalidArgumentError)
    expect(q.recorded.chains).toHaveLength(1)
    expect(q.recorded.batches).toHaveLength(1)
  })

  it('records dispatches and runs nothing', async () => {
    const q = createFakeQueue<Jobs>()
    const r = await q.dispatch(job('email:send', { to: 'a@b.c' }).onQueue('mail'))
    expect(r.duplicate).toBe(false)
    await q.dispatchMany([job('photo:upload', { name: 'x.jpg' }), job('photo:upload', { name: 'y.jpg' })])
    expect(q.recorded.jobs.map((j) => [j.type, j.queue])).toEqual([
      ['email:send', 'mail'],
      ['photo:upload', 'default'],
      ['photo:upload', 'default'],
    ])
    expect(q.recorded.jobs[0]?.payload).toEqual({ to: 'a@b.c' })
  })

  it('treats a known id as a duplicate, like the real queue', async () => {
    const q = createFakeQueue<Jobs>()
    await q.dispatch(job('email:send', { to: 'x' }).withId('welcome-1'))
    expect(await q.dispatch(job('email:send', { to: 'x' }).withId('welcome-1'))).toEqual({ id: 'welcome-1', duplicate: true })
    q.assertCount(1)
  })

  it('assertDispatched passes on a match and fails showing what was recorded', async () => {
    const q = createFakeQueue<Jobs>()
    await q.dispatch(job('email:send', { to: 'ana@example.com' }))
    q.assertDispatched('email:send')
    q.assertDispatched('email:send', (p) => p.to === 'ana@example.com')
    const msg = failure(() => q.assertDispatched('email:send', (p) => p.to === 'bob@example.com'))
    expect(msg).toContain('expected a "email:send" job matching the predicate to be dispatched')
    expect(msg).toContain('email:send on default {"to":"ana@example.com"}')
    expect(failure(() => q.assertDispatched('photo:upload'))).toContain('expected: "photo:upload"')
  })

  it('assertDispatchedOn checks the queue', async () => {
    const q = createFakeQueue<Jobs>()
    await q.dispatch(job('email:send', { to: 'x' }).onQueue('mail'))
    q.assertDispatchedOn('mail', 'email:send')
    expect(failure(() => q.assertDispatchedOn('default', 'email:send'))).toContain('on queue "default"')
  })

  it('assertDispatchedTimes counts', async () => {
    const q = createFakeQueue<Jobs>()
    await q.dispatch(job('email:send', { to: '1' }))
    await q.dispatch(job('email:send', { to: '2' }))
    q.assertDispatchedTimes('email:send', 2)
    expect(failure(() => q.assertDispatchedTimes('email:send', 3))).toContain('expected "email:send" to be dispatched 3 time(s), it was dispatched 2')
  })

  it('assertNotDispatched and assertNothingDispatched', async () => {
    const q = createFakeQueue<Jobs>()
    q.assertNothingDispatched()
    q.assertNotDispatched('email:send')
    await q.dispatch(job('email:send', { to: 'x' }))
    q.assertNotDispatched('photo:upload')
    q.assertNotDispatched('email:send', (p) => p.to === 'y')
    expect(failure(() => q.assertNotDispatched('email:send'))).toContain('expected no "email:send" job to be dispatched')
    expect(failure(() => q.assertNothingDispatched())).toContain('expected nothing to be dispatched, 1 job(s) were')
  })

  it('assertCount counts chain and batch members too', async () => {
    const q = createFakeQueue<Jobs>()
    await q.chain(job('photo:upload', { name: 'a' }), job('email:send', { to: 'x' })).dispatch()
    await q.batch(job('photo:upload', { name: 'b' })).dispatch()
    q.assertCount(3)
    expect(failure(() => q.assertCount(2))).toContain('expected 2 job(s) to be dispatched, 3 were')
  })

  it('assertChained matches the step types in order', async () => {
    const q = createFakeQueue<Jobs>()
    await q.chain(job('photo:upload', { name: 'a' }), job('email:send', { to: 'x' })).onError(job('album:done', null)).dispatch()
    q.assertChained(['photo:upload', 'email:send'])
    const msg = failure(() => q.assertChained(['email:send', 'photo:upload']))
    expect(msg).toContain('expected a chain of [email:send, photo:upload]')
    expect(msg).toContain('[["photo:upload","email:send"]]')
    expect(q.recorded.chains[0]?.onError?.type).toBe('album:done')
  })

  it('assertBatched, assertBatchCount and assertNothingBatched', async () => {
    const q = createFakeQueue<Jobs>()
    q.assertNothingBatched()
    await q
      .batch(job('photo:upload', { name: 'a' }), job('photo:upload', { name: 'b' }))
      .name('album')
      .allowFailures()
      .onSettled(job('album:done', null))
      .dispatch()
    q.assertBatched((b) => b.name === 'album' && b.jobs.length === 2 && b.allowFailures)
    q.assertBatchCount(1)
    expect(failure(() => q.assertBatched((b) => b.name === 'other'))).toContain('"name":"album","jobs":["photo:upload","photo:upload"]')
    expect(failure(() => q.assertBatchCount(2))).toContain('expected 2 batch(es), 1 were dispatched')
    expect(failure(() => q.assertNothingBatched())).toContain('expected no batch, 1 were dispatched')
  })

  it('records schedules and forgets everything on reset', async () => {
    const q = createFakeQueue<Jobs>()
    await q.schedule('nightly', '@daily', job('album:done', null))
    expect(q.recorded.schedules.map((s) => [s.name, s.when, s.job.type])).toEqual([['nightly', '@daily', 'album:done']])
    await q.dispatch(job('email:send', { to: 'x' }))
    q.reset()
    q.assertNothingDispatched()
    expect(q.recorded.schedules).toEqual([])
  })

  it('refuses, as the real queue does, a payload with a cycle or a function, and records nothing', async () => {
    const q = createFakeQueue()
    const loop: Record<string, unknown> = {}
    loop['self'] = loop
    const refusals = [
      q.dispatch(job('t', loop)),
      q.dispatchMany([job('t', 1), job('t', { run: () => 1 })]),
      q.chain(job('t', 1), job('t', loop)).dispatch(),
      q.chain(job('t', 1)).onError(job('t', loop)).dispatch(),
      q.batch(job('t', 1)).onSettled(job('t', { run: () => 1 })).dispatch(),
      q.schedule('s', { every: 1000 }, job('t', loop)),
    ]
    for (const p of refusals) await expect(p).rejects.toMatchObject({ name: 'SerializationError', code: 'SERIALIZATION' })
    expect(q.recorded).toEqual({ jobs: [], chains: [], batches: [], schedules: [] })
  })

  it('rejects unknown job types at compile time', () => {
    const q = createFakeQueue<Jobs>()
    // @ts-expect-error: not a job type of the map
    expect(() => q.assertDispatched('email:sned')).toThrow(AssertionError)
    // @ts-expect-error: wrong payload type
    void q.dispatch(job('email:send', { to: 1 }))
  })
})
