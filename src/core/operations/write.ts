/**
 * Writing a transition's changes inside the transaction that read its inputs.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import { dispatched, type Changes } from '../transitions.js'

/**
 * Puts every changed record and creates the callback jobs. A callback's id is derived from its
 * chain or batch, so one that exists already is not created again: exactly once, even if a
 * transition were replayed.
 */
export async function writeChanges(tx: StoreTx, c: Changes): Promise<void> {
  for (const j of c.jobs.values()) await tx.putJob(j)
  for (const ch of c.chains.values()) await tx.putChain(ch)
  for (const b of c.batches.values()) await tx.putBatch(b)
  for (const j of c.created) {
    if (await tx.getJob(j.id)) continue
    const job = { ...j, seq: await tx.nextSeq() }
    await tx.putJob(job)
    dispatched(c, job)
  }
  c.jobs.clear()
  c.chains.clear()
  c.batches.clear()
  c.created.length = 0
}
