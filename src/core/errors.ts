/**
 * Every error ferry throws is a `QueueError` with a stable `code`. Subclasses are checked with
 * `instanceof`; `serializeError` / `deserializeError` carry them across storage and threads
 * with their class intact.
 *
 * @module
 */
import type { SerializedError } from './types.js'

export class QueueError extends Error {
  /** The code of errors of this class; an instance may carry a more specific one. */
  static readonly code: string = 'QUEUE_ERROR'
  override name = 'QueueError'
  readonly code: string
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = options?.code ?? (new.target).code
  }
}

// Names are written out rather than read from the constructor so that minifiers cannot
// change them: the name is how an error keeps its class across storage and threads.

/** Thrown by a handler: the job fails at once, whatever attempts it has left. */
export class UnrecoverableError extends QueueError {
  static override readonly code = 'UNRECOVERABLE'
  override name = 'UnrecoverableError'
}
/** The attempt ran past the job's timeout. */
export class JobTimeoutError extends QueueError {
  static override readonly code = 'JOB_TIMEOUT'
  override name = 'JobTimeoutError'
}
/** The engine no longer holds the job's lease; its result will not be recorded. */
export class LeaseLostError extends QueueError {
  static override readonly code = 'LEASE_LOST'
  override name = 'LeaseLostError'
}
export class NotFoundError extends QueueError {
  static override readonly code = 'NOT_FOUND'
  override name = 'NotFoundError'
}
/**
 * A payload or result the store cannot hold faithfully: nothing was written. Also the error of a
 * job failed because what was stored cannot be read: code `DECODE_FAILED` when the queue's codec
 * cannot decode it (a wrong key), `CODEC_TIMEOUT` when the codec did not answer in time (the
 * attempt fails and the job is retried), `CORRUPT_RECORD` when the stored record is damaged.
 */
export class SerializationError extends QueueError {
  static override readonly code = 'SERIALIZATION'
  override name = 'SerializationError'
}
export class StorageError extends QueueError {
  static override readonly code: string = 'STORAGE'
  override name = 'StorageError'
}
export class StorageFullError extends StorageError {
  static override readonly code = 'STORAGE_FULL'
  override name = 'StorageFullError'
}
/** The store is held by another process or connection. */
export class StoreLockedError extends StorageError {
  static override readonly code = 'STORE_LOCKED'
  override name = 'StoreLockedError'
}
/** The queue was stopped or closed. */
export class QueueClosedError extends QueueError {
  static override readonly code = 'QUEUE_CLOSED'
  override name = 'QueueClosedError'
}
/** A call with arguments that cannot be honoured (an empty batch, a negative delay). */
export class InvalidArgumentError extends QueueError {
  static override readonly code = 'INVALID_ARGUMENT'
  override name = 'InvalidArgumentError'
}
/** The job was cancelled while it ran. */
export class JobCancelledError extends QueueError {
  static override readonly code = 'JOB_CANCELLED'
  override name = 'JobCancelledError'
}
/** Thrown by middleware to finish a job without running its handler (`job:skipped`). */
export class JobSkippedError extends QueueError {
  static override readonly code = 'JOB_SKIPPED'
  override name = 'JobSkippedError'
}

/**
 * Thrown by middleware to put a job back for later without spending its attempt
 * (rate limits, overlap). Handlers may throw it too.
 */
export class JobDeferredError extends QueueError {
  static override readonly code = 'JOB_DEFERRED'
  override name = 'JobDeferredError'
  readonly delayMs: number
  constructor(delayMs: number, message = `deferred by ${delayMs} ms`) {
    super(message)
    this.delayMs = Math.max(0, delayMs)
  }
}

/** How each class is rebuilt from its message; data such as `delayMs` is restored after. */
const rebuild: Record<string, (message: string, code?: string) => QueueError> = {}
for (const Ctor of [
  QueueError,
  UnrecoverableError,
  JobTimeoutError,
  LeaseLostError,
  NotFoundError,
  SerializationError,
  StorageError,
  StorageFullError,
  StoreLockedError,
  QueueClosedError,
  InvalidArgumentError,
  JobCancelledError,
  JobSkippedError,
]) {
  rebuild[new Ctor('').name] = (message, code) => new Ctor(message, code === undefined ? undefined : { code })
}
rebuild['JobDeferredError'] = (message, code) => {
  const err = new JobDeferredError(0, message)
  if (code !== undefined) Object.defineProperty(err, 'code', { value: code })
  return err
}

/** Own properties that the plain form carries in fields of their own, or never. */
const RESERVED = new Set(['name', 'message', 'code', 'stack', 'cause', '__proto__', 'constructor'])

/**
 * The plain-object form of any thrown value, for storage and for crossing threads. Never
 * throws: a part that cannot be read (a throwing getter, a revoked Proxy, a Symbol message) is
 * left out or replaced by a generic name or message, so that an attempt can always end.
 */
export function serializeError(err: unknown): SerializedError {
  let isError: boolean
  try {
    isError = err instanceof Error
  } catch {
    return { name: 'Error', message: UNREADABLE }
  }
  if (!isError) return { name: 'Error', message: typeof err === 'string' ? err : safeString(err) }
  const e = err as Error
  const out: SerializedError = { name: textOf(() => e.name) ?? 'Error', message: textOf(() => e.message) ?? UNREADABLE }
  const code = read(() => (e as { code?: unknown }).code)
  if (typeof code === 'string') out.code = code
  const stack = read(() => e.stack)
  if (typeof stack === 'string') out.stack = stack
  const data = read(() => plainData(e))
  if (data) out.data = data
  return out
}

const UNREADABLE = 'a thrown value that could not be read'

/** What `get` returns, or undefined when reading throws. */
function read<T>(get: () => T): T | undefined {
  try {
    return get()
  } catch {
    return undefined
  }
}

/** A string read from `get`: strings as they are, anything else through `String`, if it can be. */
function textOf(get: () => unknown): string | undefined {
  const v = read(get)
  if (typeof v === 'string') return v
  // An object name or message may have a toString of its own; else '[object Object]' will do.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return v === undefined ? undefined : read(() => String(v))
}

/** Rebuilds an error from its plain form, as the ferry class its name names when there is one. */
export function deserializeError(e: SerializedError): Error {
  const make = Object.hasOwn(rebuild, e.name) ? rebuild[e.name] : undefined
  const err: Error = make ? make(e.message, e.code) : new Error(e.message)
  if (!make) {
    err.name = e.name
    if (e.code !== undefined) (err as Error & { code?: string }).code = e.code
  }
  for (const [key, value] of Object.entries(e.data ?? {})) {
    // Defined rather than assigned: stored data must not reach a setter or the prototype.
    if (!RESERVED.has(key)) Object.defineProperty(err, key, { value, writable: true, enumerable: true, configurable: true })
  }
  if (e.stack !== undefined) err.stack = e.stack
  return err
}

function plainData(err: Error): SerializedError['data'] {
  const data: NonNullable<SerializedError['data']> = {}
  let any = false
  for (const key of Object.keys(err)) {
    if (RESERVED.has(key)) continue
    const v: unknown = read(() => (err as unknown as Record<string, unknown>)[key])
    if (typeof v === 'string' || typeof v === 'boolean' || v === null || (typeof v === 'number' && Number.isFinite(v))) {
      data[key] = v
      any = true
    }
  }
  return any ? data : undefined
}

function safeString(v: unknown): string {
  try {
    return String(v)
  } catch {
    return 'non-error value thrown'
  }
}
