/**
 * SQLite failures as ferry errors: a full disk (or quota) is `StorageFullError`, any other
 * SQLite error a `StorageError` with the SQLite message and the original as `cause`. Errors
 * that are ferry's already (a `SerializationError` thrown while encoding a row) pass unchanged.
 *
 * @module
 */
import { QueueError, StorageError, StorageFullError } from '../../core/errors.js'

const SQLITE_FULL = 13

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
  if ((rc & 0xff) === SQLITE_FULL) return new StorageFullError(message, { cause: err })
  return new StorageError(message, { cause: err })
}
