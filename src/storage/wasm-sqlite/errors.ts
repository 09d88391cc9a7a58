/**
 * SQLite failures as ferry errors: a full disk (or quota) is `StorageFullError`, any other
 * SQLite error a `StorageError` with the SQLite message and the original as `cause`. Errors
 * that are ferry's already (a `SerializationError` thrown while encoding a row) pass unchanged.
 *
 * A VFS may report a full store as an I/O error: OPFS (`opfs-sahpool`) turns the browser's
 * quota error into SQLITE_IOERR. Where the file system can tell whether the origin is at its
 * quota, it says so through `setQuotaCheck`, and an I/O error there is a `StorageFullError`.
 *
 * @module
 */
import { QueueError, StorageError, StorageFullError } from '../../core/errors.js'

const SQLITE_IOERR = 10
const SQLITE_FULL = 13

/** Whether the storage behind the databases of this context is at its quota, if it can tell. */
let quotaReached: (() => boolean) | undefined

/** Sets (or, with undefined, removes) what tells an I/O error of a full origin from another. */
export function setQuotaCheck(check: (() => boolean) | undefined): void {
  quotaReached = check
}

/** The SQLite result code an error carries, if it came from SQLite. */
export function resultCode(err: unknown): number | undefined {
  const rc = (err as { resultCode?: unknown } | null)?.resultCode
  return typeof rc === 'number' ? rc : undefined
}

export function storageError(err: unknown, where: string): unknown {
  if (err instanceof QueueError) return err
  const rc = resultCode(err)
  if (rc === undefined) return err
  const message = `${where}: ${err instanceof Error ? err.message : String(err)}`
  // Extended result codes keep the primary code in their low byte.
  const primary = rc & 0xff
  if (primary === SQLITE_FULL) return new StorageFullError(message, { cause: err })
  if (primary === SQLITE_IOERR && quotaReached?.() === true) {
    return new StorageFullError(`${message} (the origin's storage quota is reached)`, { cause: err })
  }
  return new StorageError(message, { cause: err })
}
