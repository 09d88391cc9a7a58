/**
 * `Store.renew` and `Store.progress`: writes that need the lease to be held.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { RenewInput, RenewOutcome, StoredJob } from '../store.js'

function holds(j: StoredJob | undefined, token: string): j is StoredJob & { lease: NonNullable<StoredJob['lease']> } {
  return j !== undefined && j.state === 'active' && j.lease !== undefined && j.lease.token === token
}

export async function renew(tx: StoreTx, input: RenewInput): Promise<RenewOutcome> {
  const out: RenewOutcome = { held: [], cancelRequested: [] }
  for (const l of input.leases) {
    const j = await tx.getJob(l.id)
    if (!holds(j, l.token)) continue
    await tx.putJob({ ...j, lease: { ...j.lease, until: Math.max(j.lease.until, input.until) } })
    out.held.push(j.id)
    if (j.cancelRequested) out.cancelRequested.push(j.id)
  }
  return out
}

export async function progress(tx: StoreTx, input: { id: string; token: string; progress: unknown }): Promise<boolean> {
  const j = await tx.getJob(input.id)
  if (!holds(j, input.token)) return false
  await tx.putJob({ ...j, progress: input.progress })
  return true
}
