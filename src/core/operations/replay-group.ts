/**
 * `Store.replayGroup`: a failed chain from its failed step, a failed batch's failed jobs.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { ReplayGroupInput, ReplayOutcome } from '../store.js'

export async function replayGroup(_tx: StoreTx, _input: ReplayGroupInput): Promise<ReplayOutcome> {
  throw new Error('replayGroup: not built yet')
}
