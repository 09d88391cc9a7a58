import { filter, firstValueFrom, lastValueFrom } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { NotFoundError, QueueClosedError, QueueError, SerializationError, job } from '../../src/index.js'
import { counts$, events$, job$, ofKind } from '../../src/observable/index.js'
import { connectQueue, exposeQueue, shareQueue, type QueueClient, type SharedQueue } from '../../src/workers/index.js'
import type { Jobs } from '../workers/fixtures/jobs.js'

// Workers start, and tabs elect a host, in seconds on a busy machine.

/** What `p` came to within `ms`: a hang shows as 'pending' instead of a test timeout. */
const settled = <T>(p: Promise<T>, ms = 20_000): Promise<{ value: T } | { error: unknown } | 'pending'> =>
  Promise.race([
    p.then((value) => ({ value }), (error: unknown) => ({ error })),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ])
describe('a queue hosted in a dedicated Worker, driven from the page', { timeout: 30_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient<Jobs> | undefined
  afterEach(async () => {
    await client?.close()
    worker?.terminate()
  })

  const open = () => {
    worker = new Worker(new URL('./fixtures/queue.worker.ts', import.meta.url), { type: 'module' })
    client = connectQueue<Jobs>(worker)
    return client
  }

  it('dispatches from the page and sees the result computed in the worker', async () => {
    const q = open()
    const { id } = await q.dispatch(job('add', { a: 40, b: 2 }))
    expect(await lastValueFrom(job$(q, id))).toMatchObject({ state: 'succeeded', result: 42 })
  })

  it('watches the worker’s events and counts from the page', async () => {
    const q = open()
    const failed = firstValueFrom(events$(q).pipe(ofKind('job:failed')))
    await q.dispatch(job('fail', { message: 'corrupt file' }))
    expect((await failed).error).toMatchObject({ name: 'UnrecoverableError', code: 'UNRECOVERABLE' })
    const done = firstValueFrom(counts$(q).pipe(filter((c) => c.succeeded === 20)))
    await q.dispatchMany(Array.from({ length: 20 }, (_, i) => job('add', { a: i, b: 1 })))
    expect(await done).toMatchObject({ succeeded: 20, failed: 1, waiting: 0 })
  })

  it('keeps the class and code of errors', async () => {
    const q = open()
    const err = await q.findChain('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect(err).toBeInstanceOf(QueueError)
    expect(err).toMatchObject({ code: 'NOT_FOUND' })
  })

  it('refuses a payload that cannot cross with SerializationError, as a local queue does, and writes nothing', async () => {
    const q = open()
    for (const send of [
      () => q.dispatch(job('add', (() => 1) as never)),
      () => q.dispatchMany([job('add', { a: 1, b: 1 }), job('add', { a: 1, b: Symbol('b') as never })]),
      // Passes the payload check, but postMessage cannot clone it.
      () => q.dispatch(job('add', new WeakMap() as never)),
    ]) {
      const err = await send().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SerializationError)
      expect(err).toMatchObject({ code: 'SERIALIZATION' })
    }
    expect(await q.counts()).toMatchObject({ waiting: 0, succeeded: 0 })
  })

  it('rejects pending and later calls with QueueClosedError when the worker script cannot load', async () => {
    worker = new Worker(new URL('./fixtures/no-such.worker.ts', import.meta.url), { type: 'module' })
    const failed = new Promise((resolve) => worker?.addEventListener('error', resolve))
    client = connectQueue<Jobs>(worker)
    const pending = settled(client.counts())
    await failed
    const first = await pending
    expect(first).not.toBe('pending')
    expect((first as { error: unknown }).error).toBeInstanceOf(QueueClosedError)
    expect((first as { error: Error }).error.message).toMatch(/queue worker/)
    expect(await settled(client.counts())).toMatchObject({ error: expect.any(QueueClosedError) })
  })

  it('rejects pending and later calls with QueueClosedError when the worker throws before it serves', async () => {
    worker = new Worker(new URL('./workers-throwing.worker.ts', import.meta.url), { type: 'module' })
    client = connectQueue<Jobs>(worker)
    const first = await settled(client.dispatch(job('add', { a: 1, b: 1 })))
    expect(first).toMatchObject({ error: expect.any(QueueClosedError) })
    expect(((first as { error: Error }).error.cause as { message?: string } | undefined)?.message).toMatch(/could not start/)
    expect(await settled(client.counts())).toMatchObject({ error: expect.any(QueueClosedError) })
  })

  it('keeps serving when the worker reports an error but still answers', async () => {
    const q = open()
    expect(await q.counts()).toMatchObject({ waiting: 0 })
    // An uncaught error somewhere in the worker (a stray timer of the app) does not stop it.
    worker?.dispatchEvent(new ErrorEvent('error', { message: 'a stray error' }))
    const { id } = await q.dispatch(job('add', { a: 2, b: 3 }))
    await expect.poll(async () => (await q.getJob(id))?.state, { timeout: 10_000 }).toBe('succeeded')
  })

  it('rejects calls left pending on a terminated worker once the client is closed', async () => {
    const q = open()
    expect(await q.counts()).toMatchObject({ waiting: 0 })
    // A browser says nothing when a worker is terminated: closing the client settles what waits.
    worker?.terminate()
    const pending = settled(q.counts())
    await q.close()
    expect(await pending).toMatchObject({ error: expect.any(QueueClosedError) })
  })

  it('refuses to expose a queue on the page itself', () => {
    expect(() => exposeQueue({} as never)).toThrow(/inside a worker/)
  })
})

describe('a queue shared by the tabs of an origin', { timeout: 30_000 }, () => {
  const opened: SharedQueue<Jobs>[] = []
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close()
  })
  const share = (name: string, script = new URL('./fixtures/queue.worker.ts', import.meta.url)): SharedQueue<Jobs> => {
    const q = shareQueue<Jobs>({ name, worker: () => new Worker(script, { type: 'module' }) })
    opened.push(q)
    return q
  }
  /** The id of the tab hosting `name` now, as its Web Lock says. */
  const hostId = async (name: string): Promise<string | undefined> => {
    const prefix = `ferry:hostid:${name}:`
    return (await navigator.locks.query()).held?.find((l) => l.name?.startsWith(prefix))?.name?.slice(prefix.length)
  }

  it('rejects the calls of every tab when the host tab’s worker cannot start, and another tab takes over', async () => {
    const name = `broken-${Date.now()}`
    const broken = share(name, new URL('./workers-throwing.worker.ts', import.meta.url))
    await expect.poll(() => broken.isHost, { timeout: 10_000 }).toBe(true)
    const other = share(name)
    const [inHost, inOther] = await Promise.all([settled(broken.counts()), settled(other.counts())])
    expect(inHost).toMatchObject({ error: expect.any(QueueClosedError) })
    expect(inOther).not.toBe('pending')
    // The broken host gave hosting up; the other tab hosts now, with a worker that starts.
    await expect.poll(() => other.isHost, { timeout: 20_000 }).toBe(true)
    const { id } = await broken.dispatch(job('add', { a: 1, b: 2 }))
    await expect.poll(async () => (await other.getJob(id))?.state, { timeout: 10_000 }).toBe('succeeded')
  })

  it('rejects the calls of every tab when the host’s worker is killed under it, and hosts again with a fresh worker', async () => {
    const name = `killed-${Date.now()}`
    const started: Worker[] = []
    const host = shareQueue<Jobs>({
      name,
      worker: () => {
        const w = new Worker(new URL('./fixtures/queue.worker.ts', import.meta.url), { type: 'module' })
        started.push(w)
        return w
      },
    })
    opened.push(host)
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = share(name)
    expect(await other.counts()).toMatchObject({ waiting: 0 })
    // A browser fires nothing when a worker is killed (terminated, out of memory).
    started[0]?.terminate()
    const [inHost, inOther] = await Promise.all([settled(host.counts()), settled(other.counts())])
    expect(inHost).toMatchObject({ error: expect.any(QueueClosedError) })
    expect(inOther).not.toBe('pending')
    // Hosting starts again (here or in the other tab) with a fresh worker.
    const { id } = await other.dispatch(job('add', { a: 2, b: 2 }))
    await expect.poll(async () => (await other.getJob(id))?.state, { timeout: 20_000 }).toBe('succeeded')
  })

  it('keeps a host whose worker is busy for a long while: its calls are answered once it is free', async () => {
    const name = `busy-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = share(name)
    expect(await other.counts()).toMatchObject({ waiting: 0 })
    const started = firstValueFrom(events$(host).pipe(ofKind('job:started')))
    const { id } = await host.dispatch(job('spin', { ms: 12_000 }))
    await started
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    // Asked while the worker's thread is busy: answered late, never taken for a dead worker.
    const [inHost, inOther] = await Promise.all([settled(host.getJob(id), 40_000), settled(other.counts(), 40_000)])
    expect(inHost).toMatchObject({ value: { state: 'succeeded' } })
    expect(inOther).toMatchObject({ value: { succeeded: 1 } })
    expect(host.isHost).toBe(true)
  }, 60_000)

  it('answers a call only from the host it was sent to, and sends nothing again on an unproven host message', async () => {
    const name = `hosts-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = share(name)
    const uncaught: unknown[] = []
    const onError = (e: ErrorEvent | PromiseRejectionEvent): void => void uncaught.push('reason' in e ? e.reason : (e.error ?? e.message))
    window.addEventListener('error', onError)
    window.addEventListener('unhandledrejection', onError)
    const forger = new BroadcastChannel(`ferry:tabs:${name}`)
    const seen: string[] = []
    forger.onmessage = (m: MessageEvent<{ t?: string; rid?: string; from?: string; method?: string }>) => {
      // A tab asks a host it adopts for its network state: those calls are not counted here.
      if (m.data.t !== 'req' || !m.data.rid || m.data.method === 'isOnline') return
      seen.push(m.data.rid)
      if (seen.length > 1) return
      // A forged answer, a forged host and a late host message of no living tab.
      const { rid, from } = m.data
      forger.postMessage({ t: 'res', rid, to: from, ok: true, value: 'forged' })
      forger.postMessage({ t: 'res', rid, to: from, host: 'gone-host', ok: true, value: 'forged' })
      forger.postMessage({ t: 'host', tab: 'gone-host' })
      forger.postMessage({ t: 'host', host: 'gone-host' })
    }
    expect(await other.counts()).toMatchObject({ waiting: 0 })
    // Messages of one sender arrive in order: once the next call is seen, any call sent again was too.
    expect(await other.counts()).toMatchObject({ waiting: 0 })
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen).toHaveLength(2)
    expect(await hostId(name)).toBeDefined()
    // A host closed while a call of another tab is in its worker answers nothing, and throws nothing.
    const { id } = await other.dispatch(job('slow', { ms: 300 }))
    const late = settled(other.getJob(id))
    await host.close()
    expect(await late).not.toBe('pending')
    await expect.poll(() => other.isHost, { timeout: 20_000 }).toBe(true)
    forger.close()
    window.removeEventListener('error', onError)
    window.removeEventListener('unhandledrejection', onError)
    expect(uncaught).toEqual([])
  })

  it('refuses a payload that cannot cross with SerializationError in the host tab and in the others', async () => {
    const name = `clone-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = share(name)
    for (const q of [host, other]) {
      for (const payload of [() => 1, new WeakMap()]) {
        const err = await q.dispatch(job('add', payload as never)).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(SerializationError)
        expect(err).toMatchObject({ code: 'SERIALIZATION' })
      }
    }
    // The refused calls left nothing behind to be sent again when the host changes.
    await host.close()
    await expect.poll(() => other.isHost, { timeout: 10_000 }).toBe(true)
    const { id } = await other.dispatch(job('add', { a: 1, b: 1 }))
    await expect.poll(async () => (await other.getJob(id))?.state, { timeout: 10_000 }).toBe('succeeded')
    expect(await other.counts()).toMatchObject({ succeeded: 1, waiting: 0, failed: 0 })
  })

  it('runs no method outside the queue API, ignores malformed messages, and keeps events flowing to every tab', async () => {
    const name = `forged-${Date.now()}`
    const host = share(name)
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    // A second client in this page stands for another tab: it hears the host over the channel.
    const other = share(name)
    expect(other.isHost).toBe(false)
    const heard = { host: [] as string[], other: [] as string[] }
    host.events.subscribe((e) => heard.host.push(e.kind))
    other.events.subscribe((e) => heard.other.push(e.kind))
    const uncaught: unknown[] = []
    const onError = (e: ErrorEvent): void => void uncaught.push(e.error ?? e.message)
    window.addEventListener('error', onError)

    // Any same-origin context can post on the channel.
    const forger = new BroadcastChannel(`ferry:tabs:${name}`)
    const answers: { rid: string; ok: boolean; error?: { name: string; code?: string } }[] = []
    forger.onmessage = (m: MessageEvent<{ t?: string; to?: string; rid: string; ok: boolean; error?: { name: string; code?: string } }>) => {
      if (m.data.t === 'res' && m.data.to === 'forger') answers.push(m.data)
    }
    const forbidden = ['detachEvents', 'attachEvents', 'constructor', '__proto__', 'then', 'toString', 'hasOwnProperty']
    // Requests name the host they are for: the forger reads it from the host's Web Lock.
    const to = await hostId(name)
    expect(to).toBeDefined()
    for (const method of forbidden) {
      for (const id of [0, 1, 2, 3]) forger.postMessage({ t: 'req', rid: `${method}-${id}`, from: 'forger', host: to, method, args: [id] })
    }
    const malformed: unknown[] = [
      null,
      42,
      'req',
      [],
      {},
      { t: 'nope' },
      { t: 'req' },
      { t: 'req', rid: 7, from: 'forger', host: to, method: 'counts', args: [] },
      { t: 'req', rid: 'no-args', from: 'forger', host: to, method: 'counts', args: 'x' },
      { t: 'req', rid: 'no-from', from: null, host: to, method: 'counts', args: [] },
      { t: 'req', rid: 'bad-method', from: 'forger', host: to, method: { toString: null }, args: [] },
      { t: 'events', events: 'x' },
      { t: 'events', events: [null, 3, { kind: 7 }] },
      { t: 'events' },
      { t: 'res', rid: 'x', to: 5, ok: true },
      { t: 'res', rid: 'x', to: 'y', ok: false, error: null },
      { t: 'req', rid: 'no-host', from: 'forger', method: 'counts', args: [] },
      { t: 'req', rid: 'other-host', from: 'forger', host: 'another', method: 'counts', args: [] },
      { t: 'host', host: 5 },
      { t: 'host', tab: 5 },
      { t: 'host' },
    ]
    for (const m of malformed) forger.postMessage(m)
    // A well-formed call of the queue API is answered: by then the host has seen everything above.
    forger.postMessage({ t: 'req', rid: 'fine', from: 'forger', host: to, method: 'counts', args: [] })
    await expect.poll(() => answers.some((a) => a.rid === 'fine'), { timeout: 10_000 }).toBe(true)
    expect(answers.find((a) => a.rid === 'fine')).toMatchObject({ ok: true })

    // The host still hosts, and its events still reach both tabs.
    expect(host.isHost).toBe(true)
    const { id } = await other.dispatch(job('add', { a: 1, b: 2 }))
    await expect.poll(async () => (await host.getJob(id))?.state, { timeout: 10_000 }).toBe('succeeded')
    await expect.poll(() => heard.host.includes('job:succeeded') && heard.other.includes('job:succeeded'), { timeout: 10_000 }).toBe(true)
    expect(await other.counts()).toMatchObject({ succeeded: 1, waiting: 0, failed: 0 })
    expect(heard.other.every((k) => typeof k === 'string')).toBe(true)

    // Each request with a sender and an id but a method outside the API, or arguments that are
    // not a list, got a typed refusal; the rest were dropped unanswered.
    const refused = answers.filter((a) => a.rid !== 'fine')
    const expected = [...forbidden.flatMap((m) => [0, 1, 2, 3].map((id) => `${m}-${id}`)), 'no-args', 'bad-method']
    expect(refused.map((a) => a.rid).sort()).toEqual(expected.sort())
    for (const a of refused) expect(a).toMatchObject({ ok: false, error: { name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT' } })
    forger.close()
    window.removeEventListener('error', onError)
    expect(uncaught).toEqual([])
  })
})
