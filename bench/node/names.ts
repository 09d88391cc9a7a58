/**
 * The names of ferry's Node rows, apart from the code that runs them, so that a subject's
 * process loads only the libraries of the subject it runs.
 *
 * @module
 */

/** ferry's stores in Node, and how their rows are named. */
export const FERRY_STORES = {
  memory: 'ferry · memory',
  'sqlite-memory': 'ferry · SQLite in memory',
  'file-normal': 'ferry · SQLite file (normal)',
  'file-full': 'ferry · SQLite file (full)',
} as const

export type FerryStore = keyof typeof FERRY_STORES

/** The raw ceilings' rows that goals name. */
export const RAW_WASM_NORMAL = "raw · ferry's engine: SQLite WASM + ferry's VFS, file (normal)"
export const RAW_WASM_FULL = "raw · ferry's engine: SQLite WASM + ferry's VFS, file (full)"
export const RAW_NATIVE_NORMAL = 'raw · native SQLite (better-sqlite3), file (normal)'
export const RAW_NATIVE_FULL = 'raw · native SQLite (better-sqlite3), file (full)'

/** A raw ceiling's row with claim-ahead, beside the one without. */
export function claimAheadName(raw: string, ahead: number): string {
  return `${raw}, claim-ahead ${ahead}`
}
