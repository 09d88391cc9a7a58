/**
 * IndexedDB's exceptions as ferry's errors, so the engine and the application see one
 * vocabulary whatever the store: a value that cannot be cloned is a `SerializationError`, a full
 * origin a `StorageFullError`, everything else IndexedDB throws a `StorageError` with a code.
 *
 * @module
 */
import { QueueError, SerializationError, StorageError, StorageFullError } from '../../core/errors.js'

/** Codes of the `StorageError`s this store throws, beyond the plain `STORAGE`. */
export type IdbErrorCode =
  /** The database holds a schema written by a newer ferry; it was left untouched. */
  | 'SCHEMA_TOO_NEW'
  /** The application's database lacks ferry's stores, or holds an older schema of them. */
  | 'SCHEMA_MISSING'
  /** The connection was closed from outside (another connection upgrading or deleting the database, storage cleared). */
  | 'DATABASE_CLOSED'
  /** Another connection holds an older version open and does not close, so the upgrade cannot run. */
  | 'DATABASE_BLOCKED'
  /** `{ tx }` came while the application's `open()` had not returned: the store cannot tell its database yet. */
  | 'DATABASE_OPENING'
  /** The transaction given in `{ tx }` had finished, or does not cover ferry's stores. */
  | 'TRANSACTION_INACTIVE'

const IDB_EXCEPTIONS = new Set([
  'AbortError',
  'ConstraintError',
  'DataError',
  'InvalidAccessError',
  'InvalidStateError',
  'NotFoundError',
  'ReadOnlyError',
  'TimeoutError',
  'TransactionInactiveError',
  'UnknownError',
  'VersionError',
])

function nameOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { name?: unknown }).name === 'string'
    ? (err as { name: string }).name
    : undefined
}

/** True for the exception `transaction()` throws on a connection that is closing or closed. */
export function isClosedConnection(err: unknown): boolean {
  return nameOf(err) === 'InvalidStateError'
}

/** What a transaction fails with when its connection is closed under it. */
export function isConnectionLoss(err: unknown): boolean {
  const name = nameOf(err)
  return name === 'AbortError' || name === 'InvalidStateError' || name === 'TransactionInactiveError' || name === 'UnknownError'
}

/**
 * ferry's error for what an IndexedDB call threw. ferry's own errors and errors that did not
 * come from IndexedDB (a bug, a rule of the core) pass through unchanged.
 */
export function toStoreError(err: unknown, dbName?: string): unknown {
  if (err instanceof QueueError) return err
  const name = nameOf(err)
  const detail = err instanceof Error ? err.message : String(err)
  const where = dbName === undefined ? 'IndexedDB' : `IndexedDB database "${dbName}"`
  if (name === 'DataCloneError') {
    return new SerializationError(`cannot store this value in IndexedDB (it cannot be structured-cloned): ${detail}`, { cause: err })
  }
  if (name === 'QuotaExceededError') {
    return new StorageFullError(`${where} is full (the origin's storage quota is exceeded); nothing was written`, { cause: err })
  }
  if (name === 'TransactionInactiveError') return inactive(dbName, err)
  if (name !== undefined && IDB_EXCEPTIONS.has(name)) {
    return new StorageError(`${where} failed: ${name}: ${detail}`, { cause: err })
  }
  return err
}

export function closedError(dbName: string, cause?: unknown): StorageError {
  return new StorageError(
    `IndexedDB database "${dbName}" was closed from outside (another connection upgraded or deleted it, or the browser cleared storage); the store reconnects on its next call`,
    { code: 'DATABASE_CLOSED', cause },
  )
}

export function inactive(dbName: string | undefined, cause: unknown): StorageError {
  const where = dbName === undefined ? 'IndexedDB' : `IndexedDB database "${dbName}"`
  return new StorageError(
    `${where}: the transaction had finished before ferry's writes; a transaction given in { tx } must still be active (await nothing but its own requests before dispatching)`,
    { code: 'TRANSACTION_INACTIVE', cause },
  )
}
