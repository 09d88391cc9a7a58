/**
 * The errors of the Postgres store that are its own. Failures of the database itself are
 * `StorageError`s made by the backend.
 *
 * @module
 */
import { StorageError } from '../../core/errors.js'

/** The code of the `StorageError` of a schema written by a newer version of ferry. */
export const SCHEMA_TOO_NEW = 'SCHEMA_TOO_NEW'

export function schemaTooNew(schema: string, version: number, known: number): StorageError {
  return new StorageError(
    `the Postgres store (schema "${schema}") has schema version ${version}, newer than this version of ferry knows (${known}): ` +
      'upgrade ferry to open it',
    { code: SCHEMA_TOO_NEW },
  )
}

/** The code of the `StorageError` of a schema whose `migrations` table is not ferry's (an application's own). */
export const SCHEMA_NOT_FERRY = 'SCHEMA_NOT_FERRY'

export function schemaNotFerry(schema: string, columns: string): StorageError {
  return new StorageError(
    `the Postgres store (schema "${schema}") found a table "${schema}"."migrations" that is not ferry's (columns: ${columns}): ` +
      'give the store a schema of its own (postgresStore({ schema }))',
    { code: SCHEMA_NOT_FERRY },
  )
}
