/**
 * `Store.settleAndClaim`: the engine's one transaction per turn of its loop.
 *
 * @module
 */
import type { QueueScope, StoreTx } from '../store-backend.js'
import type { ClaimRequest, SettleAndClaimInput, SettleAndClaimOutcome, Settlement, StoredJob } from '../store.js'
import { Changes, endAttempt, lease, type Outcome } from '../transitions.js'
import { finishInGroups } from './groups.js'
import { fireSchedules } from './schedules.js'
import { writeChanges } from './write.js'

/** Due delayed jobs promoted per claim; the rest are promoted by the next one. */
const PROMOTE_LIMIT = 1000

export async function settleAndClaim(tx: StoreTx, input: SettleAndClaimInput): Promise<SettleAndClaimOutcome> {
  const c = new Changes(input.now)
  const lost: string[] = []
  for (const s of input.settle) {
    if (!(await settleOne(tx, s, c))) lost.push(s.id)
  }
  const out: SettleAndClaimOutcome = { lost, claimed: [], events: c.events }
  if (input.claim && input.claim.limit > 0) {
    out.claimed = await claim(tx, input.claim, c)
    // A full claim means more may be ready: the engine comes back at once, without a timer.
    if (out.claimed.length < input.claim.limit) {
      const wake = await nextWake(tx, input.claim, input.now)
      if (wake !== undefined) out.nextWakeAt = wake
    }
  }
  return out
}

async function settleOne(tx: StoreTx, s: Settlement, c: Changes): Promise<boolean> {
  const job = await tx.getJob(s.id)
  if (!job || job.state !== 'active' || job.lease?.token !== s.token) return false
  // A job cancelled while it ran ends cancelled whatever its handler returned: `cancel` said so
  // when it found the job active, and the engine may not have seen the cancel at all.
  const outcome: Outcome = job.cancelRequested ? { kind: 'cancelled' } : s.outcome
  const next = endAttempt(job, outcome, s.random ?? 0.5, c)
  await finishInGroups(tx, next, c)
  await writeChanges(tx, c)
  return true
}

async function claim(tx: StoreTx, req: ClaimRequest, c: Changes): Promise<StoredJob[]> {
  const scope: QueueScope = { queues: req.queues, types: req.types }
  await fireSchedules(tx, c)
  for (const j of await tx.due(req.queues, c.now, PROMOTE_LIMIT)) await tx.putJob({ ...j, state: 'waiting' })

  const claimed: StoredJob[] = []
  const running = new Set(req.running)
  const expired = (await tx.expired(scope, c.now, req.limit + running.size)).filter((j) => !running.has(j.id))
  for (const j of expired.slice(0, req.limit)) {
    c.emit({ kind: 'job:stalled', jobId: j.id, type: j.type })
    if (j.cancelRequested) {
      // Cancelled while it ran, then its engine died: the cancel still holds.
      await finishInGroups(tx, endAttempt(j, { kind: 'cancelled' }, 0, c), c)
      continue
    }
    if (j.attempt < j.maxAttempts) {
      claimed.push(lease(j, req.owner, req.token, req.leaseUntil, c))
      continue
    }
    const error = {
      name: 'LeaseLostError',
      code: 'LEASE_LOST',
      message: `the lease on job ${j.id} expired during its last attempt (${j.attempt} of ${j.maxAttempts})`,
    }
    const failed = endAttempt(j, { kind: 'failed', error, unrecoverable: true }, 0, c)
    await finishInGroups(tx, failed, c)
  }
  // Written before the ready query, so a chain step released by a failed stall is seen by it.
  await writeChanges(tx, c)
  const room = req.limit - claimed.length
  if (room > 0) {
    for (const j of await tx.ready(scope, room)) claimed.push(lease(j, req.owner, req.token, req.leaseUntil, c))
  }
  await writeChanges(tx, c)
  return claimed
}

async function nextWake(tx: StoreTx, req: ClaimRequest, now: number): Promise<number | undefined> {
  const times = [
    await tx.nextDue(req.queues),
    await tx.nextExpiry({ queues: req.queues, types: req.types }, now),
    await tx.nextScheduleAt(),
  ].filter((t): t is number => t !== undefined)
  return times.length === 0 ? undefined : Math.min(...times)
}
