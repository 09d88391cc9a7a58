/**
 * `shareQueue`: one queue for all the tabs of an origin, hosted by one of them.
 *
 * Stores that allow one connection per origin (SQLite on OPFS) cannot be opened by every tab.
 * So the tabs elect a host with a Web Lock: the tab holding it starts the worker that hosts
 * the queue, and every tab (the host too) talks to it through a BroadcastChannel. When the host
 * tab closes or crashes, the browser releases its lock, the next tab waiting for it becomes
 * host and starts the worker again on the same storage, and announces itself; the other tabs
 * then send again every call that was not answered. Jobs, chains and batches get their ids in
 * the calling tab, so a call sent twice (once to the old host, once to the new) writes once.
 * A host whose worker dies, or finds the storage held (`StoreLockedError`), gives hosting up
 * the same way: the calls its worker had reject, and the next host (maybe this tab again,
 * after a pause) starts a fresh worker.
 *
 * Each host picks an id and holds a second Web Lock named after it while it hosts. Its
 * messages carry the id; a tab takes a host for current only while that lock is held (so a
 * late or forged `host` message changes nothing), sends each call to one host, accepts the
 * answer only from that host, and sends a call again only once that host's lock is gone.
 *
 * Channel messages: `req` (a call, to one host), `res` (its answer, to the caller), `events`
 * (the host queue's events, to every tab), `host` (a tab became host). Any context of the
 * origin can post on the channel, so every message is checked field by field before it is
 * read, and the host runs only the methods of the queue API: a request for anything else (the
 * worker's `detachEvents`, `constructor`) is answered with `InvalidArgumentError`, and a
 * message of any other shape is dropped. A channel message does not say who sent it, so a
 * tab's `online` is never taken from an `events` message: a `queue:online` / `queue:offline`
 * there only makes the tab ask the host (`isOnline`, answered to this tab's request id), and
 * the answer sets `online` and emits the matching event.
 *
 * @module
 */
import { nanoid } from 'nanoid'
import { Emitter } from '../core/emitter.js'
import { InvalidArgumentError, QueueClosedError, StoreLockedError, deserializeError, serializeError } from '../core/errors.js'
import type { JobMap, QueueEvent, SerializedError } from '../core/types.js'
import { checkInstrumentation, type Instrumentation } from '../core/instrumentation.js'
import { clientOver, type QueueClient, type Transport } from './client.js'
import { workerTransport, type WorkerTransport } from './connect.js'
import { OnlineView } from './online.js'
import { isQueueMethod, type QueueApi } from './protocol.js'

export interface ShareQueueOptions {
  /** Names the shared queue: the Web Lock the tabs elect a host with, and their channel. */
  name: string
  /** Starts the dedicated worker that hosts the queue (it calls `exposeQueue`). Called in the host tab only. */
  worker: () => Worker
  /** Observers of this tab's dispatches, run in this tab (see `ClientOptions`). */
  instrumentation?: Instrumentation[]
}

export interface SharedQueue<J extends JobMap = JobMap> extends QueueClient<J> {
  /** Whether this tab hosts the queue now. */
  readonly isHost: boolean
}

type Msg =
  | { t: 'req'; rid: string; from: string; host: string; method: keyof QueueApi; args: unknown[] }
  | { t: 'res'; rid: string; to: string; host: string; ok: true; value: unknown }
  | { t: 'res'; rid: string; to: string; host: string; ok: false; error: SerializedError }
  | { t: 'events'; host: string; events: QueueEvent[] }
  | { t: 'host'; host: string }

const isString = (v: unknown): v is string => typeof v === 'string'
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSerializedError = (v: unknown): v is SerializedError =>
  isRecord(v) && isString(v['name']) && isString(v['message']) && (v['code'] === undefined || isString(v['code']))
const isEvent = (v: unknown): v is QueueEvent => isRecord(v) && isString(v['kind'])

/**
 * The message `data` is, or why a request cannot be run (then the caller is told), or
 * undefined for anything else.
 */
function parse(data: unknown): Msg | { t: 'bad-req'; rid: string; from: string; host: string; why: string } | undefined {
  if (!isRecord(data)) return undefined
  switch (data['t']) {
    case 'req': {
      const { rid, from, host, method, args } = data
      if (!isString(rid) || !isString(from) || !isString(host)) return undefined
      if (!isQueueMethod(method)) return { t: 'bad-req', rid, from, host, why: 'the shared queue has no such method' }
      if (!Array.isArray(args)) return { t: 'bad-req', rid, from, host, why: `the arguments of ${method} must be a list` }
      return { t: 'req', rid, from, host, method, args: args as unknown[] }
    }
    case 'res': {
      const { rid, to, host, ok } = data
      if (!isString(rid) || !isString(to) || !isString(host)) return undefined
      if (ok === true) return { t: 'res', rid, to, host, ok, value: data['value'] }
      if (ok === false && isSerializedError(data['error'])) return { t: 'res', rid, to, host, ok, error: data['error'] }
      return undefined
    }
    case 'events': {
      const { events, host } = data
      return isString(host) && Array.isArray(events) && events.every(isEvent) ? { t: 'events', host, events } : undefined
    }
    case 'host':
      return isString(data['host']) ? { t: 'host', host: data['host'] } : undefined
    default:
      return undefined
  }
}

interface Call {
  method: keyof QueueApi
  args: unknown[]
  /** The host the call went to; undefined while no host is known. */
  sentTo?: string
  resolve(value: unknown): void
  reject(err: unknown): void
}

interface Hosting {
  id: string
  transport: WorkerTransport
  worker: Worker
  off: () => void
  release: () => void
}

/** The pause before a tab that gave hosting up asks for it again: doubles while hosts keep failing. */
const RETRY_MS = 500
const MAX_RETRY_MS = 30_000

/**
 * A client of the queue shared by every tab that calls this with the same name.
 * @example
 * const queue = shareQueue<Jobs>({
 *   name: 'outbox',
 *   worker: () => new Worker(new URL('./queue.worker.ts', import.meta.url), { type: 'module' }),
 * })
 * await queue.dispatch(job('photo:upload', { name }))
 */
export function shareQueue<J extends JobMap = JobMap>(o: ShareQueueOptions): SharedQueue<J> {
  const instrumentation = checkInstrumentation(o.instrumentation)
  const tab = nanoid()
  const channel = new BroadcastChannel(`ferry:tabs:${o.name}`)
  const electionLock = `ferry:host:${o.name}`
  const idPrefix = `ferry:hostid:${o.name}:`
  const emitter = new Emitter<QueueEvent>()
  // The current host's network, as every tab shows it (see QueueClient.online).
  const view = new OnlineView(emitter)
  const calls = new Map<string, Call>()
  // Lock requests of this tab still queued, dropped by close().
  const abort = new AbortController()
  let host: Hosting | undefined
  /** The host this tab sends its calls to: one whose id lock was seen held. */
  let current: string | undefined
  let failures = 0
  let closed = false

  /** Posts, unless closed; a message that cannot be cloned throws. */
  const post = (m: Msg): void => {
    if (!closed) channel.postMessage(m)
  }
  /** Posts an answer: one that cannot be sent becomes an error answer, and nothing throws. */
  const reply = (m: Msg & { t: 'res' }): void => {
    try {
      post(m)
    } catch (err) {
      try {
        post({ t: 'res', rid: m.rid, to: m.to, host: m.host, ok: false, error: serializeError(err) })
      } catch {
        // The channel is gone: the caller sends the call again to the next host.
      }
    }
  }
  const answer = (rid: string, ok: boolean, value: unknown): void => {
    const c = calls.get(rid)
    if (!c) return
    calls.delete(rid)
    if (ok) c.resolve(value)
    else c.reject(deserializeError(value as SerializedError))
  }
  /**
   * Runs a call on this tab's worker; a worker that died or found the storage held ends the
   * hosting. `isOnline` is answered here, from the state and events that came from the worker
   * on one channel, in order: what it says is never older than an event this tab sent before.
   */
  const run = (h: Hosting, method: keyof QueueApi, args: unknown[]): Promise<unknown> =>
    (method === 'isOnline' ? h.transport.state() : h.transport.call(method, args as never)).then(
      (value) => {
        failures = 0
        return value
      },
      (err: unknown) => {
        // The worker's setup failed for good: its other calls get the same error.
        if (err instanceof StoreLockedError) retire(h, err)
        throw err
      },
    )
  const send = (rid: string, c: Call): void => {
    if (host) {
      c.sentTo = host.id
      run(host, c.method, c.args).then(
        (value) => answer(rid, true, value),
        (err: unknown) => answer(rid, false, serializeError(err)),
      )
    } else if (current) {
      c.sentTo = current
      try {
        post({ t: 'req', rid, from: tab, host: current, method: c.method, args: c.args })
      } catch (err) {
        // Not sent (its arguments cannot be cloned): nothing to send again to a new host.
        calls.delete(rid)
        c.reject(err)
      }
    } else {
      c.sentTo = undefined
      void discover()
    }
  }

  /** The ids of the hosts whose lock is held now (two, for a moment, while hosting changes hands). */
  const heldIds = async (): Promise<string[]> => {
    const { held = [] } = await navigator.locks.query()
    return held.flatMap((l) => (l.name?.startsWith(idPrefix) ? [l.name.slice(idPrefix.length)] : []))
  }
  /** Asks the current host for its network state, and shows it unless the host changed meanwhile. */
  let asked = 0
  const askOnline = (): void => {
    const n = ++asked
    transport.call('isOnline', []).then(
      (online) => {
        if (n === asked) view.learn(online)
      },
      () => undefined,
    )
  }
  /** Takes `id` for the current host: sends it every call not sent to it, and watches its lock. */
  const adopt = (id: string): void => {
    if (closed || id === current) return
    current = id
    for (const [rid, c] of calls) if (c.sentTo !== id) send(rid, c)
    askOnline()
    if (host?.id === id) return
    // Granted once that host holds its lock no more: it closed, crashed or gave hosting up.
    navigator.locks
      .request(idPrefix + id, { signal: abort.signal }, () => {
        if (current === id) {
          current = undefined
          void discover()
        }
      })
      .catch(() => undefined)
  }
  let discovering = false
  const discover = async (): Promise<void> => {
    if (discovering || closed || current) return
    discovering = true
    try {
      const [id] = await heldIds()
      // A host message may have been proven meanwhile: it is newer than what the query saw.
      if (id !== undefined && current === undefined) adopt(id)
    } finally {
      discovering = false
    }
  }

  channel.onmessage = (m: MessageEvent<unknown>) => {
    const msg = parse(m.data)
    if (!msg) return
    if (msg.t === 'bad-req') {
      if (host?.id === msg.host) reply({ t: 'res', rid: msg.rid, to: msg.from, host: msg.host, ok: false, error: serializeError(new InvalidArgumentError(msg.why)) })
    } else if (msg.t === 'req') {
      // A call for another host is that host's: the caller sends it again if that host goes.
      const h = host
      if (!h || h.id !== msg.host) return
      run(h, msg.method, msg.args).then(
        (value) => reply({ t: 'res', rid: msg.rid, to: msg.from, host: h.id, ok: true, value }),
        (err: unknown) => reply({ t: 'res', rid: msg.rid, to: msg.from, host: h.id, ok: false, error: serializeError(err) }),
      )
    } else if (msg.t === 'res') {
      if (msg.to === tab && calls.get(msg.rid)?.sentTo === msg.host) answer(msg.rid, msg.ok, msg.ok ? msg.value : msg.error)
    } else if (msg.t === 'events') {
      if (host || msg.host !== current) return
      let network = false
      for (const e of msg.events) {
        if (e.kind === 'queue:online' || e.kind === 'queue:offline') network = true
        else view.deliver(e)
      }
      // Any page can post an events message: the host's network is asked of the host itself.
      if (network) askOnline()
    } else if (msg.host !== current) {
      // A new host, if its lock says so: whatever was not answered goes to it.
      const id = msg.host
      void heldIds().then((ids) => {
        if (ids.includes(id)) adopt(id)
      })
    }
  }

  /** Ends this tab's hosting: its worker goes, both locks are released, and it asks again later. */
  const retire = (h: Hosting, reason?: unknown): void => {
    if (host !== h) return
    host = undefined
    if (current === h.id) current = undefined
    h.off()
    void h.transport.close(reason).catch(() => undefined)
    h.worker.terminate()
    h.release()
    if (closed) return
    const pause = Math.min(RETRY_MS * 2 ** failures++, MAX_RETRY_MS)
    setTimeout(elect, pause)
    void discover()
  }

  const becomeHost = async (releaseElection: () => void): Promise<void> => {
    const id = nanoid()
    // The id's lock, held while this tab hosts: what other tabs check a host message against.
    let releaseId = (): void => {}
    await new Promise<void>((granted) => {
      void navigator.locks.request(idPrefix + id, () => {
        granted()
        return new Promise<void>((r) => (releaseId = r))
      })
    })
    if (closed) {
      releaseId()
      releaseElection()
      return
    }
    const worker = o.worker()
    const transport = workerTransport(
      worker,
      () => {
        if (host?.id === id) retire(host)
      },
      { watch: true },
    )
    let batch: QueueEvent[] = []
    const off = transport.events.subscribe((e) => {
      view.deliver(e)
      if (batch.push(e) > 1) return
      queueMicrotask(() => {
        const events = batch
        batch = []
        try {
          post({ t: 'events', host: id, events })
        } catch {
          // The channel closed meanwhile.
        }
      })
    })
    const h: Hosting = {
      id,
      transport,
      worker,
      off,
      release: () => {
        releaseId()
        releaseElection()
      },
    }
    host = h
    post({ t: 'host', host: id })
    adopt(id)
  }

  const elect = (): void => {
    if (closed) return
    navigator.locks
      .request(electionLock, { signal: abort.signal }, async () => {
        if (closed) return
        let release = (): void => {}
        const hosting = new Promise<void>((r) => (release = r))
        await becomeHost(release)
        // Held while this tab lives (the browser releases it when the tab goes), until close(),
        // or until the hosting ends.
        return hosting
      })
      .catch(() => undefined)
  }
  elect()
  void discover()

  const transport: Transport = {
    call: (method, args) =>
      new Promise((resolve, reject) => {
        const rid = nanoid()
        const c: Call = { method, args, resolve: resolve, reject }
        calls.set(rid, c)
        send(rid, c)
      }),
    events: emitter,
    get online() {
      return view.online
    },
    async close() {
      closed = true
      abort.abort()
      for (const c of calls.values()) c.reject(new QueueClosedError('the shared queue was closed'))
      calls.clear()
      channel.close()
      const h = host
      if (h) {
        host = undefined
        h.off()
        await h.transport.close().catch(() => undefined)
        h.worker.terminate()
        h.release()
      }
    },
  }
  const client = clientOver<J>(transport, { ids: true, instrumentation })
  return Object.defineProperty(client, 'isHost', { get: () => host !== undefined, enumerable: true }) as SharedQueue<J>
}
