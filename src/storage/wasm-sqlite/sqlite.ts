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
  loading ??= sqlite3InitModule().then(
    (sqlite3) => {
      quietStepErrors(sqlite3)
      return sqlite3
    },
    (err: unknown) => {
      loading = undefined
      throw err
    },
  )
  return loading
}

/**
 * The library logs every failed statement step as a warning before it throws; ferry turns the
 * throw into a `StorageError` with the same text, so the warning is only noise in the console.
 */
function quietStepErrors(sqlite3: Sqlite3Static): void {
  const warn = sqlite3.config.warn
  sqlite3.config.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('sqlite3_step() rc=')) return
    warn(...args)
  }
}
