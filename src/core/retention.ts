/**
 * Retention: how many finished jobs a queue keeps, and for how long (see `QueueOptions.retention`).
 *
 * @module
 */
import type { FinishedState } from './types.js'

/** Keep the newest `count` jobs of a finished state, and none older than `ageMs`. */
export interface Keep {
  count?: number
  ageMs?: number
}

/** What to keep of each finished state; a state left out is kept forever. */
export type Retention = Partial<Record<FinishedState, Keep>>

/** Checks a retention option; undefined keeps everything. */
export function checkRetention(retention: unknown): Retention | undefined {
  return retention as Retention | undefined
}
