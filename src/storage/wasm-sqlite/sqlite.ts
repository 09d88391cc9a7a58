/**
 * Loading the SQLite WASM module: once per JavaScript realm, on first use.
 *
 * The package resolves to its Node build under Node and to its browser build elsewhere (its
 * `exports` conditions), so this file works unchanged in both.
 *
 * @module
 */
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm'

export type { Sqlite3Static }

let loading: Promise<Sqlite3Static> | undefined

/** The initialised module. A failed load is retried by the next call. */
export function loadSqlite(): Promise<Sqlite3Static> {
  loading ??= sqlite3InitModule().catch((err: unknown) => {
    loading = undefined
    throw err
  })
  return loading
}
