/**
 * Processes that use one Postgres store tell each other what they commit with `NOTIFY`: engines
 * elsewhere wake for new work at once instead of polling, and every process's queue hears the
 * events of work done in the others. Notifications only: the database stays the truth, and an
 * engine that misses one finds the work at its next claim.
 *
 * The channel is named from the schema, so stores in other schemas of the database do not hear
 * each other. Each store is a sender with an id of its own: it skips its own notifications
 * (its watchers heard those events when it committed them).
 *
 * Payloads: Postgres refuses a payload of 8000 bytes or more, so a list of events is cut into
 * as many notifications as it takes (in order, one statement). Each payload is plain ASCII
 * (JSON with every other character escaped), so its length in bytes is its length in
 * characters whatever the server's encoding. An event too large alone is sent reduced
 * (see `reduced`), and an event too large even so is replaced by an empty list, which still
 * makes every engine that hears it look for work.
 *
 * Listening: one Session (a connection held for it) does the `LISTEN`, opened with the first
 * subscriber and released after the last. While it is not listening (connecting, or its
 * connection was lost and it reconnects with backoff), subscribers are told `[]` every
 * `pollMs`, which makes engines re-check the store; once it listens again they are told `[]`
 * once more, for work committed while nobody heard. No timer runs while it listens.
 *
 * Sending: `publish` returns at once; the `NOTIFY` runs on any connection of the pool (a process
 * that only dispatches has no session), one statement at a time so that other processes hear
 * commits in the order this one told them, those told meanwhile going together in the next.
 * A `NOTIFY` that fails is lost, as a missed broadcast is: it fails when the server or the
 * network does, and then the listening sessions elsewhere fail too, so their subscribers are
 * polled and told `[]` when they reconnect; an engine that still missed it finds the work at
 * its next turn. `encodeNotifications` is exported so that a `NOTIFY` can also be sent inside
 * the write's own transaction.
 *
 * Anyone who can connect can `NOTIFY` on the channel, so a payload is taken only in the shape
 * this module sends, with every event of a known kind and its fields of the right types;
 * anything else is dropped whole, and nothing throws.
 *
 * A connection that dies without the server closing it (a network cut) is noticed only when
 * TCP says so: give the pool `keepAlive: true` so that it does.
 *
 * @module
 */
import { systemClock } from '../../core/clock.js'
import { InvalidArgumentError } from '../../core/errors.js'
import type { StoreBackend } from '../../core/store-backend.js'
import type { Clock, QueueEvent, QueueEventKind } from '../../core/types.js'
import type { Driver, Session } from './driver.js'

type Share = NonNullable<StoreBackend['share']>

/** Postgres takes payloads shorter than 8000 bytes; ours are ASCII, one byte a character. */
export const MAX_PAYLOAD = 7999

/**
 * Subscribers are told `[]` this often while the notification connection is down. Two seconds
 * is graphile-worker's poll interval, the only way it finds work: while down, ferry picks up
 * work no later than it does, at the cost of one claim per engine every two seconds, and only
 * while down.
 */
export const DEFAULT_POLL_MS = 2000

/**
 * The first wait before reconnecting; it doubles with each failure, up to `MAX_BACKOFF_MS`, and
 * starts small again once a connection stayed up `STABLE_MS` (one that is dropped as soon as it
 * listens, again and again, is not retried ever faster).
 */
const FIRST_BACKOFF_MS = 250
const MAX_BACKOFF_MS = 15_000
const STABLE_MS = 60_000

/** Sends a list of payloads (`$2`, text[]) on a channel (`$1`), in order, in one statement. */
export const NOTIFY_SQL = 'SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p'

/** Notifications sent in one statement at most. */
const PER_STATEMENT = 64

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/
const SENDER = /^[A-Za-z0-9_-]{1,64}$/

/** The kinds a store's commits report; listed whole, so a kind added to QueueEvent is not forgotten. */
const REQUIRED: Record<Exclude<QueueEventKind, 'queue:online' | 'queue:offline'>, readonly string[]> = {
  'job:dispatched': ['jobId'],
  'job:waiting': ['jobId'],
  'job:started': ['jobId'],
  'job:progress': ['jobId'],
  'job:succeeded': ['jobId'],
  'job:retrying': ['jobId', 'retryAt', 'error'],
  'job:failed': ['jobId', 'error'],
  'job:stalled': ['jobId'],
  'job:cancelled': ['jobId'],
  'job:skipped': ['jobId'],
  'job:deferred': ['jobId', 'runAt'],
  'lease:lost': ['jobId'],
  'chain:started': ['chainId'],
  'chain:advanced': ['chainId'],
  'chain:completed': ['chainId'],
  'chain:failed': ['chainId'],
  'chain:cancelled': ['chainId'],
  'batch:started': ['batchId'],
  'batch:progressed': ['batchId'],
  'batch:completed': ['batchId'],
  'batch:failed': ['batchId'],
  'batch:cancelled': ['batchId'],
  'queue:paused': [],
  'queue:resumed': [],
  'queue:error': ['error'],
}

const STRINGS = ['jobId', 'chainId', 'batchId', 'type', 'queue'] as const
const NUMBERS = ['attempt', 'retryAt', 'runAt', 'readyAt'] as const
const COUNTS = ['total', 'pending', 'succeeded', 'failed', 'cancelled', 'createdAt'] as const

/**
 * The channel of a schema's store: `<schema>_events`, or for a schema name too long for that
 * (a channel is an identifier, 63 bytes at most) its first characters and a hash of the whole.
 */
export function channelOf(schema: string): string {
  const plain = `${schema}_events`
  if (plain.length <= 63) return plain
  return `${schema.slice(0, 46)}_${fnv1a(schema)}_events`
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** JSON in ASCII: every character past `~` escaped, so the payload's bytes are its characters. */
function ascii(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

const cut = (s: string, n: number): string => (s.length > n ? s.slice(0, n) : s)

/**
 * An event too large for a notification, made small: `result` (job:succeeded) and `progress`
 * (job:progress) are left out, an error keeps only its `name`, `code` and the first 1000
 * characters of its `message` (no stack, no encoded form, no other properties), and a batch's
 * `state` keeps its counts and times but not its `jobIds` nor its `name`. Kind, time, ids, type,
 * queue, attempt and the times an engine wakes for (`retryAt`, `runAt`, `readyAt`) stay. Whoever
 * needs what was left out reads it from the store (getJob, findBatch).
 */
export function reduced(e: QueueEvent): QueueEvent {
  const out: Record<string, unknown> = { kind: e.kind, at: e.at }
  const f = e as unknown as Record<string, unknown>
  for (const k of [...STRINGS, ...NUMBERS]) if (f[k] !== undefined) out[k] = f[k]
  const error = f['error'] as { name?: unknown; message?: unknown; code?: unknown } | undefined
  if (error) {
    out['error'] = {
      name: cut(String(error.name), 200),
      message: cut(String(error.message), 1000),
      ...(typeof error.code === 'string' ? { code: cut(error.code, 200) } : {}),
    }
  }
  const state = f['state'] as Record<string, unknown> | undefined
  if (state) {
    const s: Record<string, unknown> = { id: state['id'], state: state['state'] }
    for (const k of COUNTS) s[k] = state[k]
    if (state['finishedAt'] !== undefined) s['finishedAt'] = state['finishedAt']
    out['state'] = s
  }
  return out as unknown as QueueEvent
}

/** The smallest form: kind, time and the ids; an error keeps a short name and message. */
function minimal(e: QueueEvent): QueueEvent {
  const f = e as unknown as Record<string, unknown>
  const out: Record<string, unknown> = { kind: e.kind, at: e.at }
  for (const k of ['jobId', 'chainId', 'batchId', 'retryAt', 'runAt'] as const) if (f[k] !== undefined) out[k] = f[k]
  const error = f['error'] as { name?: unknown; message?: unknown } | undefined
  if (error) out['error'] = { name: cut(String(error.name), 100), message: cut(String(error.message), 100) }
  return out as unknown as QueueEvent
}

/**
 * The payloads that tell `events`, in order, each under `MAX_PAYLOAD` characters of ASCII:
 * `{"from":sender,"events":[...]}`. Always at least one (an empty list tells "something changed").
 * Values JSON cannot carry arrive as JSON makes them (a Map as `{}`); an event JSON cannot
 * encode at all (a BigInt in a result) is sent reduced.
 * @throws InvalidArgumentError when `sender` is not 1 to 64 letters, digits, `_` or `-`
 */
export function encodeNotifications(events: readonly QueueEvent[], sender: string): string[] {
  if (typeof sender !== 'string' || !SENDER.test(sender)) {
    throw new InvalidArgumentError('a sender is 1 to 64 letters, digits, _ or -')
  }
  const head = `{"from":"${sender}","events":[`
  const tail = ']}'
  const room = MAX_PAYLOAD - head.length - tail.length
  const fits = (json: string | undefined): json is string => json !== undefined && json.length <= room
  const out: string[] = []
  let current: string[] = []
  let used = 0
  for (const e of events) {
    let json = encodeOne(e)
    if (!fits(json)) json = encodeOne(reduced(e))
    if (!fits(json)) json = encodeOne(minimal(e))
    // Still too large (an id of thousands of characters): the list sent says only "look again".
    if (!fits(json)) continue
    const extra = (current.length > 0 ? 1 : 0) + json.length
    if (used + extra > room) {
      out.push(head + current.join(',') + tail)
      current = []
      used = 0
    }
    used += (current.length > 0 ? 1 : 0) + json.length
    current.push(json)
  }
  if (current.length > 0 || out.length === 0) out.push(head + current.join(',') + tail)
  return out
}

function encodeOne(e: QueueEvent): string | undefined {
  try {
    return ascii(JSON.stringify(e))
  } catch {
    return undefined
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isString = (v: unknown): v is string => typeof v === 'string'
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function isEvent(v: unknown): v is QueueEvent {
  if (!isRecord(v) || !isString(v['kind']) || !Object.hasOwn(REQUIRED, v['kind']) || !isNumber(v['at'])) return false
  for (const k of REQUIRED[v['kind'] as keyof typeof REQUIRED]) if (v[k] === undefined) return false
  for (const k of STRINGS) if (v[k] !== undefined && !isString(v[k])) return false
  for (const k of NUMBERS) if (v[k] !== undefined && !isNumber(v[k])) return false
  const error = v['error']
  if (error !== undefined) {
    if (!isRecord(error) || !isString(error['name']) || !isString(error['message'])) return false
    if (error['code'] !== undefined && !isString(error['code'])) return false
  }
  const state = v['state']
  if (state !== undefined) {
    if (!v['kind'].startsWith('batch:') || !isRecord(state) || state['id'] !== v['batchId']) return false
    if (!COUNTS.every((k) => isNumber(state[k]))) return false
    const ids = state['jobIds']
    if (ids !== undefined && !(Array.isArray(ids) && ids.every(isString))) return false
  }
  return true
}

/**
 * The events of a payload of this module's shape from a sender other than `self`, or undefined
 * for one of its own or anything else.
 */
export function decodeNotification(payload: string, self: string): QueueEvent[] | undefined {
  let data: unknown
  try {
    data = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (!isRecord(data) || !isString(data['from']) || !SENDER.test(data['from']) || data['from'] === self) return undefined
  const events = data['events']
  return Array.isArray(events) && events.every(isEvent) ? events : undefined
}

export interface NotificationsOptions {
  driver: Driver
  /** The store's schema; the channel is named from it. */
  schema: string
  /**
   * How often subscribers are told `[]` (engines re-check the store) while the notification
   * connection is down. Only then: nothing polls while it listens.
   * @default 2000
   */
  pollMs?: number
  /** @default the system clock */
  clock?: Clock
}

/**
 * The `share` of a Postgres store: `publish` sends a commit's events with `NOTIFY`, `subscribe`
 * hears the other processes' with `LISTEN`. `close` stops listening and waits for the
 * notifications under way. To send from inside a write's transaction instead, run
 * `NOTIFY_SQL` with `channelOf(schema)` and `encodeNotifications(events, sender)`.
 * @throws InvalidArgumentError for a schema that is not a lowercase identifier or a `pollMs`
 * that is not a positive number
 */
export function notifications(o: NotificationsOptions): Share & { readonly sender: string; close(): Promise<void> } {
  if (typeof o.schema !== 'string' || !SCHEMA.test(o.schema)) {
    throw new InvalidArgumentError(`schema must be a lowercase identifier (${SCHEMA.source}), got ${JSON.stringify(o.schema)}`)
  }
  const pollMs = o.pollMs ?? DEFAULT_POLL_MS
  if (!isNumber(pollMs) || pollMs <= 0) throw new InvalidArgumentError(`pollMs must be a positive number of milliseconds, got ${String(o.pollMs)}`)
  return new Notifications(o.driver, channelOf(o.schema), pollMs, o.clock ?? systemClock)
}

/**
 * The listening side's states: `idle` (no subscriber), `connecting` (a session is being opened
 * and told to LISTEN; subscribers are polled), `listening` (no timer), `waiting` (the last
 * attempt failed or the connection was lost: a reconnect is due after the backoff, subscribers
 * are polled). Each start of `connect` takes a new generation, so a late reply of an attempt
 * that no longer matters (the last subscriber left, the store closed) only releases its session.
 */
class Notifications implements Share {
  readonly #driver: Driver
  readonly #channel: string
  readonly #pollMs: number
  readonly #clock: Clock
  readonly #self = senderId()
  /** This store's sender id: a `NOTIFY` sent with `encodeNotifications(events, sender)` is not heard back. */
  readonly sender = this.#self
  readonly #listeners = new Set<(events: QueueEvent[]) => void>()
  #closed = false
  #generation = 0
  #session: Session | undefined
  #pollTimer: unknown
  #retryTimer: unknown
  #backoff = FIRST_BACKOFF_MS
  /** When the session last began to listen. */
  #listeningSince = 0
  /** Payloads waiting for the statement under way to finish: sent in order, one statement at a time. */
  readonly #outbox: string[] = []
  #sending: Promise<void> | undefined

  constructor(driver: Driver, channel: string, pollMs: number, clock: Clock) {
    this.#driver = driver
    this.#channel = channel
    this.#pollMs = pollMs
    this.#clock = clock
  }

  /** Sends without holding up the caller; never throws (see the module's comment). */
  publish(events: QueueEvent[]): void {
    if (this.#closed) return
    let payloads: string[]
    try {
      payloads = encodeNotifications(events, this.#self)
    } catch {
      payloads = encodeNotifications([], this.#self)
    }
    this.#outbox.push(...payloads)
    this.#sending ??= this.#send()
  }

  async #send(): Promise<void> {
    while (this.#outbox.length > 0) {
      const batch = this.#outbox.splice(0, PER_STATEMENT)
      try {
        await this.#driver.query(NOTIFY_SQL, [this.#channel, batch])
      } catch {
        // Lost, as a missed broadcast is: see the module's comment for what covers it.
      }
    }
    this.#sending = undefined
  }

  subscribe(listener: (events: QueueEvent[]) => void): () => void {
    if (this.#closed) return () => {}
    const l = (events: QueueEvent[]): void => listener(events)
    this.#listeners.add(l)
    if (this.#listeners.size === 1) this.#connect()
    return () => {
      if (!this.#listeners.delete(l) || this.#listeners.size > 0) return
      this.#stop()
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#listeners.clear()
    this.#stop()
    await this.#sending
  }

  #tell(events: QueueEvent[]): void {
    for (const l of [...this.#listeners]) {
      try {
        l(events)
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  /** Opens a session and LISTENs on it; subscribers are polled until it listens. */
  #connect(): void {
    const generation = ++this.#generation
    this.#startPolling()
    void (async () => {
      let session: Session | undefined
      try {
        session = await this.#driver.session()
        if (generation !== this.#generation) return void release(session)
        this.#session = session
        const mine = session
        session.onEnd(() => this.#lost(mine))
        await session.listen(this.#channel, (payload) => this.#heard(payload))
      } catch {
        if (generation !== this.#generation) return
        if (session) {
          if (this.#session === session) this.#session = undefined
          release(session)
        }
        return this.#retryLater()
      }
      if (generation !== this.#generation || this.#session !== session) return
      this.#stopPolling()
      this.#listeningSince = this.#clock.now()
      // Work committed before the LISTEN took effect was told to nobody here.
      this.#tell([])
    })()
  }

  #heard(payload: string): void {
    if (this.#listeners.size === 0) return
    const events = decodeNotification(payload, this.#self)
    if (events) this.#tell(events)
  }

  /** The session's connection ended: its LISTEN is gone. */
  #lost(session: Session): void {
    if (this.#session !== session) return
    this.#session = undefined
    release(session)
    this.#generation++
    if (this.#clock.now() - this.#listeningSince >= STABLE_MS) this.#backoff = FIRST_BACKOFF_MS
    this.#startPolling()
    this.#retryLater()
  }

  #retryLater(): void {
    const wait = this.#backoff * (0.5 + Math.random() / 2)
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS)
    this.#clock.clearTimeout(this.#retryTimer)
    this.#retryTimer = unref(
      this.#clock.setTimeout(() => {
        this.#retryTimer = undefined
        if (!this.#closed && this.#listeners.size > 0) this.#connect()
      }, wait),
    )
  }

  #startPolling(): void {
    if (this.#pollTimer !== undefined) return
    const tick = (): void => {
      this.#pollTimer = unref(this.#clock.setTimeout(tick, this.#pollMs))
      this.#tell([])
    }
    this.#pollTimer = unref(this.#clock.setTimeout(tick, this.#pollMs))
  }

  #stopPolling(): void {
    if (this.#pollTimer === undefined) return
    this.#clock.clearTimeout(this.#pollTimer)
    this.#pollTimer = undefined
  }

  /** No subscriber left: the session goes, and every timer with it. */
  #stop(): void {
    this.#generation++
    this.#stopPolling()
    this.#clock.clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#backoff = FIRST_BACKOFF_MS
    const session = this.#session
    this.#session = undefined
    if (session) release(session)
  }
}

function release(session: Session): void {
  session.release().catch(() => undefined)
}

/** In Node a pending timer keeps the process alive; notifications must not. */
function unref(handle: unknown): unknown {
  if (typeof handle === 'object' && handle !== null) (handle as { unref?: () => void }).unref?.()
  return handle
}

function senderId(): string {
  const bytes = new Uint8Array(12)
  globalThis.crypto.getRandomValues(bytes)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
