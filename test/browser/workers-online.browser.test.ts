import { afterEach, describe, expect, it } from 'vitest'
import { job, type QueueEvent } from '../../src/index.js'
import { connectQueue, requestBackgroundSync, shareQueue, type QueueClient, type SharedQueue } from '../../src/workers/index.js'
import type { Jobs } from '../workers/fixtures/jobs.js'

// A worker whose network the test sets by hand (see the fixture): `offline` or `online`, and `:<database>`.
const online = (name: string): Worker => new Worker(new URL('../workers/fixtures/online.worker.ts', import.meta.url), { type: 'module', name })
const setOnline = (w: Worker | undefined, value: boolean): void => w?.postMessage({ setOnline: value })
const network = (events: QueueEvent[]): string[] => events.filter((e) => e.kind === 'queue:online' || e.kind === 'queue:offline').map((e) => e.kind)

describe('the network of a queue hosted in a dedicated Worker, seen from the page', { timeout: 30_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient<Jobs> | undefined
  afterEach(async () => {
    await client?.close()
    worker?.terminate()
  })

  it('shows the host’s state from the start and follows its queue:online / queue:offline events', async () => {
    worker = online('offline')
    client = connectQueue<Jobs>(worker)
    const heard: QueueEvent[] = []
    client.events.subscribe((e) => heard.push(e))
    // The page is online; the host is not, and the host's network is the one that counts.
    expect(navigator.onLine).toBe(true)
    await expect.poll(() => client?.online, { timeout: 10_000 }).toBe(false)
    expect(network(heard)).toEqual(['queue:offline'])
    setOnline(worker, true)
    await expect.poll(() => client?.online, { timeout: 10_000 }).toBe(true)
    setOnline(worker, false)
    await expect.poll(() => client?.online, { timeout: 10_000 }).toBe(false)
    expect(network(heard)).toEqual(['queue:offline', 'queue:online', 'queue:offline'])
  })

  it('keeps online current without any listener of events', async () => {
    worker = online('offline')
    client = connectQueue<Jobs>(worker)
    await expect.poll(() => client?.online, { timeout: 10_000 }).toBe(false)
    setOnline(worker, true)
    await expect.poll(() => client?.online, { timeout: 10_000 }).toBe(true)
  })

  it('drains the host: what is ready runs, jobs that need the network wait while the host is offline', async () => {
    worker = online('offline')
    client = connectQueue<Jobs>(worker)
    const q = client
    const adds = await q.dispatchMany([job('add', { a: 1, b: 2 }), job('add', { a: 3, b: 4 })])
    const nets = await q.dispatchMany([job('net', { a: 5, b: 6 }), job('net', { a: 7, b: 8 })])
    expect(await q.counts()).toMatchObject({ waiting: 4 })
    await q.drain()
    expect(await q.getJob(adds[1]?.id ?? '')).toMatchObject({ state: 'succeeded', result: 7 })
    expect(await q.counts()).toMatchObject({ waiting: 2, succeeded: 2 })
    for (const r of nets) expect(await q.getJob(r.id)).toMatchObject({ state: 'waiting', attempt: 0 })
    setOnline(worker, true)
    await expect.poll(() => q.online, { timeout: 10_000 }).toBe(true)
    await q.drain({ timeoutMs: 10_000 })
    expect(await q.getJob(nets[1]?.id ?? '')).toMatchObject({ state: 'succeeded', result: 15, attempt: 1 })
    expect(await q.counts()).toMatchObject({ waiting: 0, succeeded: 4 })
  })
})

describe('the network of a queue shared by tabs', { timeout: 40_000 }, () => {
  const opened: SharedQueue<Jobs>[] = []
  const workers = new Map<string, Worker>()
  afterEach(async () => {
    for (const q of opened.splice(0)) await q.close()
    workers.clear()
  })
  /** A tab whose worker, should it host, starts online or offline (and is kept under that word). */
  const tab = (name: string, state: 'online' | 'offline'): SharedQueue<Jobs> => {
    const q = shareQueue<Jobs>({
      name,
      worker: () => {
        const w = online(`${state}:${name}`)
        workers.set(state, w)
        return w
      },
    })
    opened.push(q)
    return q
  }

  it('takes the host’s network only from the host’s answers, never from an events message another page can post', async () => {
    const name = `forged-${Date.now()}`
    const host = tab(name, 'online')
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = tab(name, 'online')
    const heard: QueueEvent[] = []
    other.events.subscribe((e) => heard.push(e))
    await expect.poll(() => other.online, { timeout: 10_000 }).toBe(true)
    // A page of the origin that knows the host's id (any page can read the held locks).
    const { held = [] } = await navigator.locks.query()
    const prefix = `ferry:hostid:${name}:`
    const id = held.map((l) => l.name ?? '').find((n) => n.startsWith(prefix))?.slice(prefix.length)
    expect(id).toBeDefined()
    const forger = new BroadcastChannel(`ferry:tabs:${name}`)
    forger.postMessage({ t: 'events', host: id, events: [{ kind: 'queue:offline', at: 1 }] })
    // Posted after it by the same sender, so heard after it.
    forger.postMessage({ t: 'events', host: id, events: [{ kind: 'job:progress', jobId: 'marker', progress: 1, at: 1 }] })
    await expect.poll(() => heard.some((e) => e.kind === 'job:progress'), { timeout: 10_000 }).toBe(true)
    expect(other.online).toBe(true)
    // A call after it, answered by the host: the client's own question about the network was answered too.
    await other.counts()
    expect(other.online).toBe(true)
    expect(network(heard)).toEqual([])
    // The host's real change still reaches the client.
    setOnline(workers.get('online'), false)
    await expect.poll(() => other.online, { timeout: 10_000 }).toBe(false)
    expect(network(heard)).toEqual(['queue:offline'])
    forger.close()
  })

  it('shows every tab the host’s state, and a tab that takes over shows its own', async () => {
    const name = `online-${Date.now()}`
    const host = tab(name, 'offline')
    await expect.poll(() => host.isHost, { timeout: 10_000 }).toBe(true)
    const other = tab(name, 'online')
    const heard: QueueEvent[] = []
    other.events.subscribe((e) => heard.push(e))
    expect(other.isHost).toBe(false)
    await expect.poll(() => [host.online, other.online], { timeout: 10_000 }).toEqual([false, false])
    setOnline(workers.get('offline'), true)
    await expect.poll(() => [host.online, other.online], { timeout: 10_000 }).toEqual([true, true])
    setOnline(workers.get('offline'), false)
    await expect.poll(() => [host.online, other.online], { timeout: 10_000 }).toEqual([false, false])
    // Through the other tab, a drain runs in the host's worker, offline: the network job waits.
    const { id: add } = await other.dispatch(job('add', { a: 1, b: 1 }))
    const { id: net } = await other.dispatch(job('net', { a: 2, b: 2 }))
    await other.drain()
    expect(await other.getJob(add)).toMatchObject({ state: 'succeeded' })
    expect(await other.getJob(net)).toMatchObject({ state: 'waiting', attempt: 0 })
    // The host tab goes; the other tab hosts now, with its own worker, which is online.
    await host.close()
    await expect.poll(() => other.isHost, { timeout: 20_000 }).toBe(true)
    await expect.poll(() => other.online, { timeout: 10_000 }).toBe(true)
    expect(network(heard).at(-1)).toBe('queue:online')
    await other.drain()
    expect(await other.getJob(net)).toMatchObject({ state: 'succeeded', result: 4, attempt: 1 })
  })
})

describe('requestBackgroundSync on a page with no service worker', () => {
  it('resolves false at once, without waiting for a registration', async () => {
    expect(await navigator.serviceWorker.getRegistration()).toBeUndefined()
    const answer = await Promise.race([requestBackgroundSync(), new Promise<'pending'>((r) => setTimeout(() => r('pending'), 10_000))])
    expect(answer).toBe(false)
  })

  it('refuses a tag that is not a non-empty string', async () => {
    await expect(requestBackgroundSync({ tag: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(requestBackgroundSync({ tag: 7 as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
