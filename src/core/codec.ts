/**
 * Codecs: what a queue stores in place of payloads, results, progress and errors.
 *
 * `withCodec(store, codec)` is the store as such a queue sees it. The codec runs outside the
 * store's transactions (an IndexedDB transaction cannot await it): values are encoded before a
 * call and decoded after it. Ids, types, states and times stay readable, so the store can claim,
 * order and count without the codec; a job's metadata and versions are stored as they are
 * (metadata is for ids and trace context, not secrets). An error keeps its `name` and `code` readable; its message,
 * stack and data are encoded together into `encoded`. Errors the store itself makes (a lost
 * lease) are ferry's own words and stay plain.
 *
 * A value that cannot be decoded (a wrong key) never makes a read throw: the field is left out
 * and `unreadable` says why. A job claimed with such a value, or whose stored record is damaged,
 * is failed for good without running its handler, in a second call right after the claim, and
 * the claim hands the engine the others. A claimed job whose decode does not settle in time
 * (see `CODEC_TIME_LIMIT_MS`) is failed the same way, but only that attempt: it is retried.
 *
 * Unique keys are stored as the codec's `digest` of them when it has one: `uniqueFor` without a
 * key derives its key from the payload, which would otherwise sit in plain text beside it.
 *
 * @module
 */
import { InvalidArgumentError, SerializationError } from './errors.js'
import type { Unreadable } from './damaged.js'
import { checkStorable } from './storable.js'
import { META_MAX_KEYS, META_MAX_LENGTH } from './job-spec.js'
import type { SettleAndClaimInput, SettleAndClaimOutcome, Settlement, Store, StoredJob, StoredSchedule } from './store.js'
import type { JobState, QueueEvent, SerializedError } from './types.js'

/**
 * Encodes values before they are stored and decodes them after they are read. `undefined` (a
 * job without payload, a handler that returned nothing) is stored as it is, never passed to
 * either. What `encode` returns must be a value every store keeps (a string is safest); a value
 * `decode` cannot read rejects, and the queue fails the job it belongs to for good. What `encode`
 * returns and no store keeps (a function, a symbol, a cycle) is refused as a value that cannot be
 * encoded. A call that has not settled in time while the engine claims or settles a job counts as
 * failed: see `CODEC_TIME_LIMIT_MS`.
 * @example const codec: Codec = { encode: async (v) => JSON.stringify(v), decode: async (s) => JSON.parse(s as string) }
 */
export interface Codec {
  encode(value: unknown): Promise<unknown>
  decode(stored: unknown): Promise<unknown>
  /**
   * Turns a unique key (the one given to `uniqueFor`, or the one it derives from the job's type
   * and payload) into what the store keeps in its place. It must be deterministic, the same
   * text always giving the same digest, so that equal keys still collide, and across restarts
   * with the same key: a keyed digest such as an HMAC. `encryptedCodec` has one. A codec without
   * `digest` has its unique keys stored as they are given: a key derived from the payload is
   * then the payload's text, in the clear.
   */
  digest?(text: string): Promise<string>
}

/**
 * How long the engine waits for a codec call while it claims a job (a decode) or settles one
 * (an encode), in ms. A claim's decodes get less when its lease is short: at most half of what
 * the lease has left once the store has answered, so that a job is failed while it is still
 * leased rather than lost with its lease. A call still pending then counts as failed: the
 * claimed job's attempt fails with `CODEC_TIMEOUT` and is retried as any failed attempt (a
 * decode that rejects fails the job for good, `DECODE_FAILED`), a result is refused with
 * `SerializationError`, and an error is kept without its message. A call that never settles
 * would otherwise stop the engine.
 */
export const CODEC_TIME_LIMIT_MS = 10_000

/** The store as a queue with this codec sees it. */
export function withCodec(store: Store, codec: Codec, limitMs = CODEC_TIME_LIMIT_MS): Store {
  if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function') {
    throw new InvalidArgumentError('a codec needs encode and decode functions')
  }
  if (codec.digest !== undefined && typeof codec.digest !== 'function') {
    throw new InvalidArgumentError("a codec's digest must be a function when it has one")
  }
  /** The engine's codec calls: one not settled within `ms` rejects with a `Late` error. */
  const limited = <T>(call: Promise<T>, what: string, ms = limitMs): Promise<T> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Late(`the codec did not ${what} within ${ms} ms`)), ms)
    })
    return Promise.race([call, late]).finally(() => clearTimeout(timer))
  }
  /**
   * A codec's failure to encode is the value's fault, as a value a store cannot hold is: a
   * `SerializationError`, so that the engine fails that one job and nothing is written.
   */
  const encode = async (v: unknown, kept?: Kept, limit = false): Promise<unknown> => {
    let stored: unknown
    try {
      stored = await (limit ? limited(codec.encode(v), 'encode a value') : codec.encode(v))
    } catch (err) {
      if (err instanceof SerializationError) throw err
      throw new SerializationError(`the codec could not encode a value (${reason(err)})`, { cause: err })
    }
    try {
      checkStorable(stored, 'what the codec encoded', 'a value')
    } catch (err) {
      throw new SerializationError(`the codec could not encode a value: it returned one no store keeps (${reason(err)})`, { cause: err })
    }
    if (kept) {
      encodedHere.set(stored, v)
      kept.push(stored)
    }
    return stored
  }
  /**
   * What this context encodes for a write, while the write is under way: the events of that
   * write carry the values back, and they are read from here instead of being decoded again.
   */
  const encodedHere = new Map<unknown, unknown>()
  const forget = (kept: Kept): void => {
    for (const stored of kept) encodedHere.delete(stored)
  }
  const decodeValue = async (v: unknown): Promise<unknown> => (encodedHere.has(v) ? encodedHere.get(v) : codec.decode(v))
  const enc = (v: unknown, kept?: Kept): Promise<unknown> | undefined => (v === undefined ? undefined : encode(v, kept))
  const encodeError = async (e: SerializedError, kept?: Kept, limit = false): Promise<SerializedError> => {
    const { name, code, message, stack, data } = e
    const hidden: { message: string; stack?: string; data?: SerializedError['data'] } = { message }
    if (stack !== undefined) hidden.stack = stack
    if (data !== undefined) hidden.data = data
    return { name, ...(code === undefined ? {} : { code }), message: '', encoded: await encode(hidden, kept, limit) }
  }
  const decodeError = async (e: SerializedError, decode: (v: unknown) => Promise<unknown> = decodeValue): Promise<SerializedError> => {
    if (e.encoded === undefined) return e
    const hidden = (await decode(e.encoded)) as Partial<SerializedError> | null
    if (typeof hidden !== 'object' || hidden === null || typeof hidden.message !== 'string') {
      throw new SerializationError('the decoded error has no message')
    }
    const out: SerializedError = { name: e.name, message: hidden.message }
    if (e.code !== undefined) out.code = e.code
    if (typeof hidden.stack === 'string') out.stack = hidden.stack
    if (hidden.data !== undefined) out.data = hidden.data
    return out
  }
  const encodePayloads = <T extends { payload: unknown }>(jobs: T[]): Promise<T[]> =>
    Promise.all(jobs.map(async (j) => (j.payload === undefined ? j : { ...j, payload: await encode(j.payload) })))
  const encodeCallbacks = async <C extends Record<string, { payload: unknown } | undefined>>(callbacks: C): Promise<C> => {
    const out: Record<string, unknown> = {}
    for (const [on, draft] of Object.entries(callbacks)) {
      out[on] = draft === undefined || draft.payload === undefined ? draft : { ...draft, payload: await encode(draft.payload) }
    }
    return out as C
  }
  const encodeSettlement = async (s: Settlement, kept: Kept): Promise<Settlement> => {
    const o = s.outcome
    if (o.kind === 'succeeded' && o.result !== undefined) return { ...s, outcome: { ...o, result: await encode(o.result, kept, true) } }
    if (o.kind === 'failed') {
      // An error the codec cannot encode (it throws, returns what no store keeps, or does not
      // settle in time) must still end its job: its message is not kept.
      const error = await encodeError(o.error, kept, true).catch(() => ({
        name: o.error.name,
        ...(o.error.code === undefined ? {} : { code: o.error.code }),
        message: 'the codec could not encode this error: its message is not kept',
      }))
      return { ...s, outcome: { ...o, error } }
    }
    return s
  }

  /** Decodes what the field holds, or says why it could not. */
  const field = async (
    v: unknown,
    decode: (v: never) => Promise<unknown>,
  ): Promise<{ ok: true; value: unknown } | { ok: false; why: string; late: boolean }> => {
    if (v === undefined) return { ok: true, value: undefined }
    try {
      return { ok: true, value: await decode(v as never) }
    } catch (err) {
      return { ok: false, why: reason(err), late: err instanceof Late }
    }
  }
  /**
   * The job with its fields decoded; a field that cannot be is left out and named in
   * `unreadable`. `claimedMs`, for a job just claimed: only what a handler is given is read
   * (the rest is not read there), and a decode not settled within that many ms fails.
   */
  const decodeJob = async (j: StoredJob, claimedMs?: number): Promise<StoredJob> => {
    const claimed = claimedMs !== undefined
    const out: StoredJob = { ...j }
    const failed: string[] = []
    const late: string[] = []
    let why = ''
    const take = async (key: DecodedKey, decode: (v: never) => Promise<unknown>): Promise<void> => {
      if (out[key] === undefined) return
      const r = await field(out[key], decode)
      if (r.ok) (out as unknown as Record<string, unknown>)[key] = r.value
      else {
        delete out[key]
        if (r.late) late.push(FIELD_NAMES[key])
        else {
          failed.push(FIELD_NAMES[key])
          why ||= r.why
        }
      }
    }
    // A claim waits for its decodes: there, one that does not settle in time fails.
    const value = claimed ? (v: unknown) => limited(decodeValue(v), 'decode a value', claimedMs) : decodeValue
    await Promise.all([
      take('payload', value),
      take('previousResult', value),
      take('groupError', (e: SerializedError) => decodeError(e, value)),
      ...(claimed ? [] : [take('result', decodeValue), take('progress', decodeValue), take('error', decodeError)]),
    ])
    if (out.unreadable !== undefined) return out
    // Named in one order, whichever decode ended first.
    const inOrder = (names: string[]): string[] => ORDER.filter((n) => names.includes(n))
    if (failed.length > 0) {
      out.unreadable = {
        name: 'SerializationError',
        code: DECODE_FAILED,
        message: `could not decode the ${inOrder(failed).join(', ')} of job ${j.id} (${why}): the queue's key or codec may not be the one it was stored with`,
      }
    } else if (late.length > 0) {
      // Slow is not wrong: this attempt fails, and the job is retried as after any failure.
      out.unreadable = {
        name: 'SerializationError',
        code: CODEC_TIMEOUT,
        message: `the codec did not answer in time: decoding the ${inOrder(late).join(', ')} of job ${j.id} took more than ${claimedMs} ms`,
      }
    }
    return out
  }
  /**
   * The events of a commit made here reach the wrapper twice, as the same objects: through the
   * store's watch and in the call's outcome. The outcome takes what the watch began decoding.
   */
  const heard = new WeakMap<QueueEvent, Promise<QueueEvent>>()
  const decodeEvent = (e: QueueEvent, remember: boolean): Promise<QueueEvent> => {
    const known = heard.get(e)
    if (known) return known
    const decoded = decodeEventNow(e)
    if (remember) heard.set(e, decoded)
    return decoded
  }
  const decodeEventNow = async (e: QueueEvent): Promise<QueueEvent> => {
    switch (e.kind) {
      case 'job:progress':
      case 'job:succeeded': {
        const key = e.kind === 'job:progress' ? 'progress' : 'result'
        const value = (e as Record<string, unknown>)[key]
        if (value === undefined) return e
        const r = await field(value, decodeValue)
        const out = { ...e } as Record<string, unknown>
        if (r.ok) out[key] = r.value
        else delete out[key]
        return out as unknown as QueueEvent
      }
      case 'job:retrying':
      case 'job:failed': {
        if (e.error.encoded === undefined) return e
        const r = await field(e.error, decodeError)
        const error = r.ok
          ? (r.value as SerializedError)
          : { name: e.error.name, ...(e.error.code === undefined ? {} : { code: e.error.code }), message: `the error could not be decoded (${r.why})` }
        return { ...e, error }
      }
      default:
        return e
    }
  }
  const decodeEvents = (events: QueueEvent[], remember = false): Promise<QueueEvent[]> | QueueEvent[] =>
    events.some((e) => DECODED_EVENTS.has(e.kind)) ? Promise.all(events.map((e) => decodeEvent(e, remember))) : events
  /** A schedule whose payload cannot be decoded is listed without it, and `unreadable` says why. */
  const decodeSchedule = async (s: StoredSchedule): Promise<StoredSchedule & Unreadable> => {
    if (s.job.payload === undefined) return s
    const r = await field(s.job.payload, decodeValue)
    if (r.ok) return { ...s, job: { ...s.job, payload: r.value } }
    const out: StoredSchedule & Unreadable = { ...s, job: { ...s.job, payload: undefined } }
    out.unreadable ??= {
      name: 'SerializationError',
      code: DECODE_FAILED,
      message: `could not decode the payload of schedule ${s.name} (${r.why}): the queue's key or codec may not be the one it was stored with`,
    }
    return out
  }

  /** Each job's last progress write, while one is under way. */
  const progressOf = new Map<string, Promise<boolean>>()
  /** The job with its unique key replaced by the codec's digest of it. */
  const digestKey = async <T extends { uniqueKey?: string }>(j: T): Promise<T> => {
    if (j.uniqueKey === undefined || !codec.digest) return j
    let key: unknown
    try {
      key = await codec.digest(j.uniqueKey)
    } catch (err) {
      throw new SerializationError(`the codec could not digest a unique key (${reason(err)})`, { cause: err })
    }
    if (typeof key !== 'string') throw new SerializationError("the codec's digest of a unique key is not a string")
    return { ...j, uniqueKey: key }
  }
  const encodeJobs = async <T extends { payload: unknown; uniqueKey?: string }>(jobs: T[]): Promise<T[]> =>
    Promise.all((await encodePayloads(jobs)).map(digestKey))

  const settleAndClaim = async (input: SettleAndClaimInput): Promise<SettleAndClaimOutcome> => {
    const kept: Kept = []
    const began = Date.now()
    try {
      const settle = await Promise.all(input.settle.map((st) => encodeSettlement(st, kept)))
      const out = await store.settleAndClaim({ ...input, settle })
      // What the lease has left, on the claim's own clock: the decodes get at most half of it.
      const left = input.claim ? input.claim.leaseUntil - input.now - (Date.now() - began) : Number.POSITIVE_INFINITY
      const ms = Math.max(0, Math.floor(Math.min(limitMs, left / 2)))
      const claimed = await Promise.all(out.claimed.map((j) => decodeJob(j, ms)))
      return await failUnreadable(store, input, { ...out, claimed, events: await decodeEvents(out.events) }, decodeEvents)
    } finally {
      forget(kept)
    }
  }

  return delegate(store, {
    async insert(input, opts) {
      if (isIdbTransaction(opts?.tx)) {
        // Encoding awaits, and IndexedDB commits a transaction left waiting: the application's
        // own writes would commit without the jobs.
        throw new InvalidArgumentError(
          "a queue with a codec cannot dispatch into an IndexedDB transaction ({ tx }): encoding awaits, which lets IndexedDB commit it; dispatch after it commits instead",
        )
      }
      const [jobs, chains, batches] = await Promise.all([
        encodeJobs(input.jobs),
        input.chains &&
          Promise.all(input.chains.map(async (c) => ({ ...c, steps: await encodeJobs(c.steps), callbacks: await encodeCallbacks(c.callbacks) }))),
        input.batches &&
          Promise.all(input.batches.map(async (b) => ({ ...b, jobs: await encodeJobs(b.jobs), callbacks: await encodeCallbacks(b.callbacks) }))),
      ])
      const out = await store.insert({ ...input, jobs, ...(chains ? { chains } : {}), ...(batches ? { batches } : {}) }, opts)
      return { ...out, events: await decodeEvents(out.events) }
    },
    settleAndClaim,
    progress(input) {
      // Encoding takes a varying time: a job's progress writes wait for the ones called before,
      // so that the last call's value is the one stored, as without a codec.
      const before = progressOf.get(input.id)
      const write = (async () => {
        await before?.catch(() => undefined)
        const kept: Kept = []
        try {
          return await store.progress({ ...input, progress: await enc(input.progress, kept) })
        } finally {
          forget(kept)
        }
      })()
      progressOf.set(input.id, write)
      const clear = (): void => {
        if (progressOf.get(input.id) === write) progressOf.delete(input.id)
      }
      write.then(clear, clear)
      return write
    },
    async putSchedule(input) {
      const { job } = input.schedule
      const payload = await enc(job.payload)
      return store.putSchedule({ ...input, schedule: { ...input.schedule, job: { ...job, payload } } })
    },
    async listSchedules() {
      return Promise.all((await store.listSchedules()).map(decodeSchedule))
    },
    async getJob(id) {
      const j = await store.getJob(id)
      return j && decodeJob(checkRecord(j))
    },
    async listJobs(filter, now) {
      return Promise.all((await store.listJobs(filter, now)).map((j) => decodeJob(checkRecord(j))))
    },
    async cancel(input) {
      const out = await store.cancel(input)
      return { ...out, events: await decodeEvents(out.events) }
    },
    async replay(input) {
      const out = await store.replay(input)
      return { ...out, events: await decodeEvents(out.events) }
    },
    ...(store.replayGroup
      ? {
          replayGroup: async (input: Parameters<NonNullable<Store['replayGroup']>>[0]) => {
            const out = await store.replayGroup!(input)
            return { ...out, events: await decodeEvents(out.events) }
          },
        }
      : {}),
    ...(store.watch
      ? {
          watch: (listener: (events: QueueEvent[]) => void) => {
            // Decoding takes time: each commit's events wait for the ones before, so they are
            // heard in the order they were committed.
            let last: Promise<unknown> = Promise.resolve()
            let listening = true
            const stop = store.watch!((events) => {
              const decoded = Promise.resolve(decodeEvents(events, true))
              last = Promise.all([decoded, last])
                .then(([evs]) => listening && listener(evs))
                .catch(() => undefined)
            })
            return () => {
              listening = false
              stop()
            }
          },
        }
      : {}),
  })
}

/**
 * The store as a queue without a codec sees it: only the jobs it claims are checked, so that a
 * damaged record is failed rather than run. Reads mark damaged records `unreadable`.
 */
export function withRecordChecks(store: Store): Store {
  return delegate(store, {
    async settleAndClaim(input) {
      const out = await store.settleAndClaim(input)
      return failUnreadable(store, input, out, (events) => events)
    },
    async getJob(id) {
      const j = await store.getJob(id)
      return j && checkRecord(j)
    },
    async listJobs(filter, now) {
      return (await store.listJobs(filter, now)).map(checkRecord)
    },
  })
}

export const DECODE_FAILED = 'DECODE_FAILED'
/** A claimed job's decode did not settle in time: that attempt failed, and the job is retried. */
export const CODEC_TIMEOUT = 'CODEC_TIMEOUT'
export const CORRUPT_RECORD = 'CORRUPT_RECORD'

/** A codec call the engine stopped waiting for. */
class Late extends SerializationError {}

const STATES: ReadonlySet<unknown> = new Set<JobState>(['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled'])

/** The stored forms a write encoded: see `encodedHere`. */
type Kept = unknown[]

type DecodedKey = 'payload' | 'previousResult' | 'groupError' | 'result' | 'progress' | 'error'
const FIELD_NAMES: Record<DecodedKey, string> = {
  payload: 'payload',
  previousResult: 'previous result',
  groupError: 'group error',
  result: 'result',
  progress: 'progress',
  error: 'error',
}
const ORDER = Object.values(FIELD_NAMES)
const DECODED_EVENTS = new Set<QueueEvent['kind']>(['job:progress', 'job:succeeded', 'job:retrying', 'job:failed'])

/**
 * The job, or a copy marked `unreadable` when its stored record lacks a field the engine needs
 * or holds one of the wrong type (a store that keeps records as they come, like IndexedDB, hands
 * them back damaged as they are).
 */
export function checkRecord(j: StoredJob): StoredJob {
  if (j.unreadable !== undefined) return j
  const bad = damaged(j)
  if (bad.length === 0) return j
  const out = { ...j }
  // A field that is not what it should be is left out, as a value that cannot be decoded is.
  for (const k of LEFT_OUT) if (bad.includes(k)) delete out[k]
  return {
    ...out,
    unreadable: {
      name: 'SerializationError',
      code: CORRUPT_RECORD,
      message: `the stored record of job ${String(j.id)} is damaged (${bad.join(', ')} missing or of the wrong type)`,
    },
  }
}

/** The fields the engine needs that the job lacks or holds with the wrong type. */
function damaged(j: StoredJob): string[] {
  const bad: string[] = []
  for (const k of ['id', 'type', 'queue'] as const) if (typeof j[k] !== 'string') bad.push(k)
  if (!STATES.has(j.state)) bad.push('state')
  for (const k of ['seq', 'priority', 'attempt', 'maxAttempts', 'runAt', 'createdAt'] as const) {
    if (typeof j[k] !== 'number' || Number.isNaN(j[k])) bad.push(k)
  }
  const b: unknown = j.backoff
  if (typeof b !== 'number' && (typeof b !== 'object' || b === null)) bad.push('backoff')
  const e: unknown = j.error
  if (e !== undefined && (typeof e !== 'object' || e === null || typeof (e as SerializedError).name !== 'string' || typeof (e as SerializedError).message !== 'string')) {
    bad.push('error')
  }
  if (j.meta !== undefined && !isMeta(j.meta)) bad.push('meta')
  for (const k of ['dispatchedBy', 'processedBy'] as const) if (j[k] !== undefined && typeof j[k] !== 'string') bad.push(k)
  return bad
}

/** Fields a record is read without when they are damaged. */
const LEFT_OUT = ['error', 'meta', 'dispatchedBy', 'processedBy'] as const

/**
 * Stored metadata as a dispatch may leave it (`checkMeta`): a plain object of at most
 * `META_MAX_KEYS` keys, none of them `__proto__`, whose values are strings, finite numbers and
 * booleans, at most `META_MAX_LENGTH` long as JSON.
 */
function isMeta(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return false
  const proto: unknown = Object.getPrototypeOf(m)
  if (proto !== Object.prototype && proto !== null) return false
  const keys = Object.keys(m)
  if (keys.length > META_MAX_KEYS || keys.includes('__proto__')) return false
  const plain = Object.values(m).every((v) => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))
  return plain && JSON.stringify(m).length <= META_MAX_LENGTH
}

/**
 * Fails at once the claimed jobs that cannot run: those `unreadable`, and those whose records
 * are damaged. One more store call settles them (stamping the start of those claimed ahead, so
 * the attempt counts); their chains and batches move as for any failure. The engine is handed
 * the others, and told to come back at once when the claim had taken its limit.
 */
async function failUnreadable(
  store: Store,
  input: SettleAndClaimInput,
  out: SettleAndClaimOutcome,
  decodeEvents: (events: QueueEvent[]) => Promise<QueueEvent[]> | QueueEvent[],
): Promise<SettleAndClaimOutcome> {
  const claim = input.claim
  if (!claim || out.claimed.length === 0) return out
  let bad: { job: StoredJob; error: SerializedError }[] | undefined
  for (const j of out.claimed) {
    const error = (j.unreadable !== undefined ? j : checkRecord(j)).unreadable
    if (error) (bad ??= []).push({ job: j, error })
  }
  if (!bad) return out
  const gone = new Set(bad.map((b) => b.job.id))
  const started = bad.filter((b) => b.job.ahead).map((b) => ({ id: b.job.id, token: claim.token, at: input.now }))
  let events = out.events
  try {
    const more = await store.settleAndClaim({
      now: input.now,
      ...(started.length > 0 ? { started } : {}),
      // A decode that ran out of time is an attempt like any other; a value that cannot be read stays so.
      settle: bad.map((b) => ({ id: b.job.id, token: claim.token, outcome: { kind: 'failed', error: b.error, unrecoverable: b.error.code !== CODEC_TIMEOUT } })),
    })
    events = [...events, ...(await decodeEvents(more.events))]
  } catch {
    // Left leased: the jobs come back when their leases end, and are failed then.
  }
  return {
    ...out,
    claimed: out.claimed.filter((j) => !gone.has(j.id)),
    events,
    // The claim may have taken its limit with jobs that did not run: the engine looks again now.
    nextWakeAt: input.now,
  }
}

/** An IndexedDB transaction, raw or wrapped by `idb`: what has `objectStore` and `oncomplete`. */
function isIdbTransaction(tx: unknown): boolean {
  return typeof tx === 'object' && tx !== null && typeof (tx as { objectStore?: unknown }).objectStore === 'function' && 'oncomplete' in tx
}

function reason(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err)
  } catch {
    return 'an unreadable error'
  }
}

/** A store that does what `store` does, but for the methods in `over`. */
function delegate(store: Store, over: Partial<Store>): Store {
  const base: Store = {
    insert: (input, opts) => store.insert(input, opts),
    settleAndClaim: (input) => store.settleAndClaim(input),
    renew: (input) => store.renew(input),
    progress: (input) => store.progress(input),
    cancel: (input) => store.cancel(input),
    replay: (input) => store.replay(input),
    prune: (input) => store.prune(input),
    putSchedule: (input) => store.putSchedule(input),
    deleteSchedule: (name) => store.deleteSchedule(name),
    listSchedules: () => store.listSchedules(),
    getJob: (id) => store.getJob(id),
    listJobs: (filter, now) => store.listJobs(filter, now),
    counts: (now) => store.counts(now),
    getChain: (id) => store.getChain(id),
    getBatch: (id) => store.getBatch(id),
    close: () => store.close(),
  }
  if (store.replayGroup) base.replayGroup = (input) => store.replayGroup!(input)
  if (store.watch) base.watch = (listener) => store.watch!(listener)
  if (store.liveness) Object.defineProperty(base, 'liveness', { value: store.liveness, enumerable: true })
  return Object.assign(base, over)
}
