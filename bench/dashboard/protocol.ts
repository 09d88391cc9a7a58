/**
 * What the bench's page, its worker and its driver say to each other.
 *
 * @module
 */
import type { Counts } from '../../src/index.js'

/** Page to worker, on the bench's own port. */
export type Command = { cmd: 'seed'; scale: number } | { cmd: 'run' }
export type Reply = { id: number; result?: unknown; error?: string }

export interface SeedResult {
  ms: number
  /** From the start until the jobs to finish were all dispatched, and until they had all run. */
  dispatchedMs: number
  ranMs: number
  counts: Counts
}

/** One measured window of the page's main thread. */
export interface Sample {
  ms: number
  /** Intervals between successive requestAnimationFrame callbacks, in ms. */
  frames: number[]
  longTasks: { start: number; duration: number }[]
  /**
   * DOM changes inside the dashboard: MutationObserver callbacks, their records, frames with
   * any, frames with a change in each region (by the element's documented parts), and the
   * records by what they changed (`span[part=rate] text`, `path @d`).
   */
  mutations: { callbacks: number; records: number; frames: number; first?: number; regions: Record<string, number>; what: Record<string, number> }
  /** Calls the page made on the queue client, by method (the dashboard's reads). */
  calls: Record<string, number>
  /** Jobs succeeded or failed during the window, from the store's counts. */
  finished: number
  counts: Counts
}
