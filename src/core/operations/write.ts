/**
 * Writing a transition's changes inside the transaction that read its inputs.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { StoredJob } from '../store.js'
import { dispatched, type Changes } from '../transitions.js'

/**
 * Puts every changed record and creates the callback jobs. A callback's id is derived from its
 * chain or batch, so one that exists already is not created again: exactly once, even if a
 * transition were replayed. The requests are issued together and apply in that order (see
 * `store-backend.ts`): the puts, then the existence checks of the callbacks, then their puts.
 */
export async function writeChanges(tx: StoreTx, c: Changes): Promise<void> {
  const writes: Promise<void>[] = []
  for (const j of c.jobs.values()) writes.push(tx.putJob(j))
  for (const ch of c.chains.values()) writes.push(tx.putChain(ch))
  for (const b of c.batches.values()) writes.push(tx.putBatch(b))
  c.jobs.clear()
  c.chains.clear()
  c.batches.clear()
  const created = c.created.splice(0)
  if (created.length > 0) {
    const exists = await Promise.all([...created.map((j) => tx.getJob(j.id)), ...writes])
    const seen = new Set<string>()
    const fresh: StoredJob[] = []
    created.forEach((j, i) => {
      if (exists[i] || seen.has(j.id)) return
      seen.add(j.id)
      fresh.push(j)
    })
    if (fresh.length === 0) return
    const first = await tx.nextSeq(fresh.length)
    const puts = fresh.map((j, i) => {
      const job = { ...j, seq: first + i }
      dispatched(c, job)
      return tx.putJob(job)
    })
    await Promise.all(puts)
    return
  }
  await Promise.all(writes)
}
