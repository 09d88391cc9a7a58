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
