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
 *
 * Channel messages: `req` (a call, to the host), `res` (its answer, to the caller), `events`
 * (the host queue's events, to every tab), `host` (a tab became host). Any context of the
 * origin can post on the channel, so every message is checked field by field before it is
 * read, and the host runs only the methods of the queue API: a request for anything else (the
 * worker's `detachEvents`, `constructor`) is answered with `InvalidArgumentError`, and a
 * message of any other shape is dropped.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { nanoid } from 'nanoid'
import { Emitter } from '../core/emitter.js'
import { InvalidArgumentError, QueueClosedError, deserializeError, serializeError } from '../core/errors.js'
import type { JobMap, QueueEvent, SerializedError } from '../core/types.js'
import { clientOver, type QueueClient, type Transport } from './client.js'
import { comlinkTransport } from './connect.js'
import { toEndpoint } from './endpoint.js'
import { installErrorTransfer } from './errors.js'
import { isQueueMethod, type HostApi, type QueueApi } from './protocol.js'

export interface ShareQueueOptions {
  /** Names the shared queue: the Web Lock the tabs elect a host with, and their channel. */
  name: string
  /** Starts the dedicated worker that hosts the queue (it calls `exposeQueue`). Called in the host tab only. */
  worker: () => Worker
}

export interface SharedQueue<J extends JobMap = JobMap> extends QueueClient<J> {
  /** Whether this tab hosts the queue now. */
  readonly isHost: boolean
}

type Msg =
  | { t: 'req'; rid: string; from: string; method: keyof QueueApi; args: unknown[] }
  | { t: 'res'; rid: string; to: string; ok: true; value: unknown }
  | { t: 'res'; rid: string; to: string; ok: false; error: SerializedError }
  | { t: 'events'; events: QueueEvent[] }
  | { t: 'host'; tab: string }

const isString = (v: unknown): v is string => typeof v === 'string'
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isSerializedError = (v: unknown): v is SerializedError =>
  isRecord(v) && isString(v['name']) && isString(v['message']) && (v['code'] === undefined || isString(v['code']))
const isEvent = (v: unknown): v is QueueEvent => isRecord(v) && isString(v['kind'])

/**
 * The message `data` is, or why a request cannot be run (then the caller is told), or
 * undefined for anything else.
 */
function parse(data: unknown): Msg | { t: 'bad-req'; rid: string; from: string; why: string } | undefined {
  if (!isRecord(data)) return undefined
  switch (data['t']) {
    case 'req': {
      const { rid, from, method, args } = data
      if (!isString(rid) || !isString(from)) return undefined
      if (!isQueueMethod(method)) return { t: 'bad-req', rid, from, why: 'the shared queue has no such method' }
      if (!Array.isArray(args)) return { t: 'bad-req', rid, from, why: `the arguments of ${method} must be a list` }
      return { t: 'req', rid, from, method, args: args as unknown[] }
    }
    case 'res': {
      const { rid, to, ok } = data
      if (!isString(rid) || !isString(to)) return undefined
      if (ok === true) return { t: 'res', rid, to, ok, value: data['value'] }
      if (ok === false && isSerializedError(data['error'])) return { t: 'res', rid, to, ok, error: data['error'] }
      return undefined
    }
    case 'events': {
      const { events } = data
      return Array.isArray(events) && events.every(isEvent) ? { t: 'events', events } : undefined
    }
    case 'host':
      return isString(data['tab']) ? { t: 'host', tab: data['tab'] } : undefined
    default:
      return undefined
  }
}

interface Call {
  method: keyof QueueApi
  args: unknown[]
  resolve(value: unknown): void
  reject(err: unknown): void
}

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
  const tab = nanoid()
  const channel = new BroadcastChannel(`ferry:tabs:${o.name}`)
  const emitter = new Emitter<QueueEvent>()
  const calls = new Map<string, Call>()
  let host: { transport: Transport; worker: Worker; off: () => void } | undefined
  let releaseLock: (() => void) | undefined
  let closed = false

  const post = (m: Msg): void => channel.postMessage(m)
  const answer = (rid: string, ok: boolean, value: unknown): void => {
    const c = calls.get(rid)
    if (!c) return
    calls.delete(rid)
    if (ok) c.resolve(value)
    else c.reject(deserializeError(value as SerializedError))
  }
  const run = (method: keyof QueueApi, args: unknown[]): Promise<unknown> => {
    if (!host) return Promise.reject(new QueueClosedError('this tab is not the host'))
    return host.transport.call(method, args as never)
  }
  const send = (rid: string, c: Call): void => {
    if (host) {
      run(c.method, c.args).then(
        (value) => answer(rid, true, value),
        (err: unknown) => answer(rid, false, serializeError(err)),
      )
    } else post({ t: 'req', rid, from: tab, method: c.method, args: c.args })
  }

  channel.onmessage = (m: MessageEvent<unknown>) => {
    const msg = parse(m.data)
    if (!msg) return
    if (msg.t === 'bad-req') {
      if (host) post({ t: 'res', rid: msg.rid, to: msg.from, ok: false, error: serializeError(new InvalidArgumentError(msg.why)) })
    } else if (msg.t === 'req') {
      if (!host) return
      run(msg.method, msg.args).then(
        (value) => post({ t: 'res', rid: msg.rid, to: msg.from, ok: true, value }),
        (err: unknown) => post({ t: 'res', rid: msg.rid, to: msg.from, ok: false, error: serializeError(err) }),
      )
    } else if (msg.t === 'res') {
      if (msg.to === tab) answer(msg.rid, msg.ok, msg.ok ? msg.value : msg.error)
    } else if (msg.t === 'events') {
      if (!host) for (const e of msg.events) emitter.emit(e)
    } else {
      // A new host: whatever the old one did not answer goes to it.
      for (const [rid, c] of calls) send(rid, c)
    }
  }

  const becomeHost = (): void => {
    installErrorTransfer()
    const worker = o.worker()
    const transport = comlinkTransport(Comlink.wrap<HostApi>(toEndpoint(worker)))
    let batch: QueueEvent[] = []
    const off = transport.events.subscribe((e) => {
      emitter.emit(e)
      if (batch.push(e) > 1) return
      queueMicrotask(() => {
        const events = batch
        batch = []
        post({ t: 'events', events })
      })
    })
    host = { transport, worker, off }
    post({ t: 'host', tab })
    for (const [rid, c] of calls) send(rid, c)
  }

  void navigator.locks
    .request(`ferry:host:${o.name}`, () => {
      if (closed) return undefined
      becomeHost()
      // Held while this tab lives (the browser releases it when the tab goes) or until close().
      return new Promise<void>((release) => (releaseLock = release))
    })
    .catch(() => undefined)

  const transport: Transport = {
    call: (method, args) =>
      new Promise((resolve, reject) => {
        const rid = nanoid()
        const c: Call = { method, args, resolve: resolve, reject }
        calls.set(rid, c)
        try {
          send(rid, c)
        } catch (err) {
          // Not sent (its arguments cannot be cloned): nothing to send again to a new host.
          calls.delete(rid)
          reject(err)
        }
      }),
    events: emitter,
    async close() {
      closed = true
      for (const c of calls.values()) c.reject(new QueueClosedError('the shared queue was closed'))
      calls.clear()
      channel.close()
      if (host) {
        host.off()
        await host.transport.close().catch(() => undefined)
        host.worker.terminate()
        host = undefined
      }
      releaseLock?.()
    },
  }
  const client = clientOver<J>(transport, { ids: true })
  return Object.defineProperty(client, 'isHost', { get: () => host !== undefined, enumerable: true }) as SharedQueue<J>
}
