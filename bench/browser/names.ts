/**
 * The names of the Chromium subjects' rows, shared by the page, the worker and the goals.
 *
 * @module
 */
export const IDB_FERRY = 'ferry · IndexedDB'
export const IDB_RAW = 'raw · IndexedDB (batched puts)'
export const WORKBOX = 'workbox-background-sync Queue (IndexedDB)'
export const OPFS_FERRY = 'ferry · SQLite on OPFS (worker, normal)'
export const OPFS_RAW = 'raw · SQLite WASM on OPFS (worker, normal)'

/** A raw ceiling's row with claim-ahead, beside the one without. */
export function claimAheadName(raw: string, ahead: number): string {
  return `${raw}, claim-ahead ${ahead}`
}
