import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError, QueueError, createQueue, job, memoryStore } from '../../src/index.js'
import { manualConnectivity } from '../../src/testing/index.js'
import { hostIn } from '../../src/workers/service-worker.js'
import { SYNC_INCOMPLETE, serviceWorkerHost } from '../../src/workers/index.js'
import { CATCH_UP_MS, DUE_SOON_MS, WAIT_DUE_MS } from '../../src/workers/service-worker.js'

// The listeners serviceWorkerHost adds, driven with events shaped as a service worker's:
// `sync` (tag, lastChance) and `message` (data, ports), each with waitUntil. The browser's
// side (a failed sync fires again later) is exercised in test/e2e/sw-outbox.test.ts.

class ExtendableEvent extends Event {
  readonly waited: Promise<unknown>[] = []
  waitUntil(p: Promise<unknown>): void {
    this.waited.push(p)
  }
}
const sync = (tag: string, lastChance = false) => Object.assign(new ExtendableEvent('sync'), { tag, lastChance })
const message = (data: unknown, ports: MessagePort[] = []) => Object.assign(new ExtendableEvent('message'), { data, ports })
/** What the event's waitUntil was given came to: 'ok', or the error. */
const outcome = async (e: ExtendableEvent): Promise<unknown> => {
  expect(e.waited).toHaveLength(1)
  return Promise.all(e.waited).then(
    () => 'ok',
    (err: unknown) => err,
  )
}

type Jobs = { add: { a: number; b: number }; upload: { name: string }; flaky: { name: string } }
const setup = (o: { online?: boolean } = {}) => {
  const net = manualConnectivity(o.online ?? true)
  const uploads: string[] = []
  const store = memoryStore()
  const queue = createQueue<Jobs>({ store, connectivity: net })
  queue.register('add', ({ a, b }) => a + b)
  queue.register('upload', ({ name }) => void uploads.push(name), { network: 'online' })
  // Answered 503 at its first attempt, online: a retry in backoff.
  queue.register(
    'flaky',
    ({ name }, ctx) => {
      if (ctx.attempt === 1) throw new Error('the server answered 503')
      uploads.push(name)
    },
    { network: 'online' },
  )
  const scope = new EventTarget()
  hostIn(scope, queue, 'outbox')
  return { net, queue, scope, store, uploads }
}

describe('serviceWorkerHost', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
  })

  it('drains the queue on a sync event of its tag, and leaves the engine stopped', async () => {
    const { queue, scope, uploads } = setup()
    const ids = (await queue.dispatchMany([job('upload', { name: 'a.jpg' }), job('upload', { name: 'b.jpg' }), job('add', { a: 1, b: 2 })])).map((r) => r.id)
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(uploads.sort()).toEqual(['a.jpg', 'b.jpg'])
    for (const id of ids) expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
    const { id } = await queue.dispatch(job('add', { a: 0, b: 0 }))
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting' })
  })

  it('leaves the sync events of other tags alone', async () => {
    const { queue, scope } = setup()
    const { id } = await queue.dispatch(job('add', { a: 1, b: 1 }))
    const e = sync('photos')
    scope.dispatchEvent(e)
    expect(e.waited).toEqual([])
    scope.dispatchEvent(message({ ferry: 'drain', tag: 'photos' }))
    scope.dispatchEvent(message('drain'))
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting' })
  })

  it('fails a sync that leaves jobs waiting for the network while offline, so the browser fires it again', async () => {
    const { queue, scope, uploads } = setup({ online: false })
    const [up, add] = await queue.dispatchMany([job('upload', { name: 'a.jpg' }), job('add', { a: 1, b: 2 })])
    const e = sync('outbox')
    scope.dispatchEvent(e)
    const err = await outcome(e)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ code: SYNC_INCOMPLETE, message: '1 jobs wait for the network' })
    // What needs no network ran; the upload spent nothing.
    expect(await queue.getJob(add?.id ?? '')).toMatchObject({ state: 'succeeded' })
    expect(await queue.getJob(up?.id ?? '')).toMatchObject({ state: 'waiting', attempt: 0 })
    expect(uploads).toEqual([])
  })

  it('fails a sync that ends online with jobs running under another engine, which may die before they finish', async () => {
    const { scope, store, uploads } = setup()
    // Another engine on the same store (a page) runs the uploads, and has not finished them.
    const page = createQueue<Jobs>({ store, concurrency: 2 })
    let release = (): void => {}
    const held = new Promise<void>((r) => (release = r))
    page.register('upload', async ({ name }) => {
      await held
      uploads.push(`page:${name}`)
    })
    await page.dispatchMany([job('upload', { name: 'a.jpg' }), job('upload', { name: 'b.jpg' })])
    await page.start()
    await expect.poll(async () => (await page.counts()).active).toBe(2)
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toMatchObject({ code: SYNC_INCOMPLETE, message: '2 jobs are not finished: 2 running elsewhere' })
    // Its last chance never fails.
    const last = sync('outbox', true)
    scope.dispatchEvent(last)
    expect(await outcome(last)).toBe('ok')
    release()
    await page.drain()
    await page.stop()
    // Finished: the next sync succeeds.
    const next = sync('outbox')
    scope.dispatchEvent(next)
    expect(await outcome(next)).toBe('ok')
    expect(uploads.sort()).toEqual(['page:a.jpg', 'page:b.jpg'])
  })

  it(`fails a sync that ends online with a retry in backoff due within ${DUE_SOON_MS / 60_000} minutes`, async () => {
    const { queue, scope, uploads } = setup()
    const { id } = await queue.dispatch(job('flaky', { name: 'a.jpg' }).backoff(2 * 60_000))
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toMatchObject({ code: SYNC_INCOMPLETE, message: '1 jobs are not finished: 1 due within 5 minutes' })
    expect(await queue.getJob(id)).toMatchObject({ state: 'delayed', attempt: 1 })
    expect(uploads).toEqual([])
  })

  it(`waits inside the sync for a retry due within ${WAIT_DUE_MS / 1000} s, and runs it`, async () => {
    const { queue, scope, uploads } = setup()
    const { id } = await queue.dispatch(job('flaky', { name: 'a.jpg' }).backoff(300))
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(uploads).toEqual(['a.jpg'])
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2 })
  })

  it('succeeds a sync whose only jobs left are scheduled far ahead', async () => {
    const { queue, scope, uploads } = setup()
    const { id } = await queue.dispatch(job('upload', { name: 'weekly.jpg' }).delay(7 * 24 * 3_600_000))
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(await queue.getJob(id)).toMatchObject({ state: 'delayed', attempt: 0 })
    expect(uploads).toEqual([])
  })

  it('never fails the last chance of a sync: the jobs stay for the next one', async () => {
    const { queue, scope } = setup({ online: false })
    const { id } = await queue.dispatch(job('upload', { name: 'a.jpg' }))
    const e = sync('outbox', true)
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(await queue.getJob(id)).toMatchObject({ state: 'waiting', attempt: 0 })
  })

  it('succeeds a sync that ends online with nothing ready', async () => {
    const { net, queue, scope, uploads } = setup({ online: false })
    await queue.dispatch(job('upload', { name: 'a.jpg' }))
    net.set(true)
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(uploads).toEqual(['a.jpg'])
  })

  it('on a sync, waits for an engine that has not yet seen the network return, then drains', async () => {
    // A browser fires sync once it is online, while the engine may still think it is offline.
    vi.stubGlobal('navigator', { onLine: true })
    const { net, queue, scope, uploads } = setup({ online: false })
    const { id } = await queue.dispatch(job('upload', { name: 'a.jpg' }))
    const e = sync('outbox')
    scope.dispatchEvent(e)
    setTimeout(() => net.set(true), 50)
    expect(await outcome(e)).toBe('ok')
    expect(uploads).toEqual(['a.jpg'])
    expect(await queue.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 1 })
  })

  it(`fails the sync when the engine still says offline after ${CATCH_UP_MS} ms`, async () => {
    vi.stubGlobal('navigator', { onLine: true })
    const { queue, scope } = setup({ online: false })
    await queue.dispatch(job('upload', { name: 'a.jpg' }))
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toMatchObject({ code: SYNC_INCOMPLETE })
  }, 20_000)

  it('drains on a drain message from a page and answers on the port it was given', async () => {
    const { queue, scope, uploads } = setup()
    await queue.dispatch(job('upload', { name: 'a.jpg' }))
    const { port1, port2 } = new MessageChannel()
    const answer = new Promise((resolve) => (port1.onmessage = (m) => resolve(m.data)))
    const e = message({ ferry: 'drain', tag: 'outbox' }, [port2])
    scope.dispatchEvent(e)
    expect(await outcome(e)).toBe('ok')
    expect(await answer).toEqual({ ok: true })
    expect(uploads).toEqual(['a.jpg'])
    port1.close()
  })

  it('gives each request a drain that starts after it, joining requests made while one waits', async () => {
    const { queue, scope, uploads } = setup()
    let drains = 0
    let release = (): void => {}
    const gate = new Promise<void>((r) => (release = r))
    const drain = queue.drain.bind(queue)
    queue.drain = async (o) => {
      // The first drain is held once it has run, as if its last look found nothing.
      if (++drains === 1) {
        await drain(o)
        await gate
      } else await drain(o)
    }
    await queue.dispatch(job('upload', { name: 'a.jpg' }))
    const first = sync('outbox')
    scope.dispatchEvent(first)
    await expect.poll(() => uploads).toEqual(['a.jpg'])
    // Dispatched after the running drain looked: the requests made now get a drain of their own.
    await queue.dispatch(job('upload', { name: 'b.jpg' }))
    const later = [sync('outbox'), message({ ferry: 'drain', tag: 'outbox' })]
    for (const e of later) scope.dispatchEvent(e)
    release()
    for (const e of [first, ...later]) expect(await outcome(e)).toBe('ok')
    expect(drains).toBe(2)
    expect(uploads).toEqual(['a.jpg', 'b.jpg'])
  })

  it('fails the events with the error of a queue whose setup failed', async () => {
    const scope = new EventTarget()
    hostIn(scope, Promise.reject(new Error('no database')), 'outbox')
    const e = sync('outbox')
    scope.dispatchEvent(e)
    expect(await outcome(e)).toMatchObject({ message: 'no database' })
  })

  it('refuses to run outside a service worker, and refuses a bad tag', () => {
    const queue = createQueue()
    expect(() => serviceWorkerHost(queue)).toThrow(InvalidArgumentError)
    expect(() => serviceWorkerHost(queue)).toThrow(/in a service worker/)
    expect(() => serviceWorkerHost(queue, { tag: '' })).toThrow(InvalidArgumentError)
  })
})
