/**
 * `Store.settleAndClaim`: the engine's one transaction per turn of its loop.
 *
 * @module
 */
import type { QueueScope, StoreTx } from '../store-backend.js'
import type { AliveOwners, ClaimRequest, SettleAndClaimInput, SettleAndClaimOutcome, Settlement, StoredJob } from '../store.js'
import { Changes, cancelQueued, endAttempt, lease, leaseAhead, stamp, unclaim, type Outcome } from '../transitions.js'
import { finishInGroups } from './groups.js'
import { retain } from './retain.js'
import { fireSchedules } from './schedules.js'
import { writeChanges } from './write.js'
import { InvalidArgumentError } from '../errors.js'

/** Due delayed jobs promoted per call; the rest are promoted by the next one. */
const PROMOTE_LIMIT = 1000

export async function settleAndClaim(tx: StoreTx, input: SettleAndClaimInput): Promise<SettleAndClaimOutcome> {
  if (input.claim) checkClaim(input.claim)
  for (const st of input.started ?? []) checkVersion(st.version, "a start's version")
  const c = new Changes(input.now)
  const lost: string[] = []
  const cancelRequested: string[] = []
  const started = input.started ?? []
  // The started and the settled jobs read at once (one request where the backend can batch
  // them); each transition then reads the job as this transaction has changed it.
  const [readStarted, readSettled] = await Promise.all([
    Promise.all(started.map((st) => tx.getJob(st.id))),
    Promise.all(input.settle.map((s) => tx.getJob(s.id))),
  ])
  if (started.length > 0) {
    // Starts first: a job started and finished since the last call is stamped, then settled.
    for (const [i, st] of started.entries()) {
      const j = c.jobs.get(st.id) ?? readStarted[i]
      if (!j || j.state !== 'active' || j.lease?.token !== st.token) lost.push(st.id)
      else if (j.ahead) {
        stamp(j, st.at, c, st.version)
        // Cancelled while it was claimed ahead: its handler has started, and is to stop.
        if (j.cancelRequested) cancelRequested.push(st.id)
      }
    }
  }
  if (input.settle.length > 0 || started.length > 0) {
    // Each transition in order, on the jobs as this transaction has changed them (a job
    // settled twice in one call is lost the second time).
    for (const [i, s] of input.settle.entries()) {
      if (!(await settleOne(tx, s, c.jobs.get(s.id) ?? readSettled[i], c))) lost.push(s.id)
    }
    await writeChanges(tx, c)
  }
  const out: SettleAndClaimOutcome = { lost, claimed: [], events: c.events, ...(cancelRequested.length > 0 ? { cancelRequested } : {}) }
  const req = input.claim && (input.claim.limit > 0 || (input.claim.ahead ?? 0) > 0) ? input.claim : undefined
  if (req || input.tick) await claimAndTick(tx, input, req, c, out)
  // Last, on what this call has written: jobs that finished in it may go at once.
  if (input.retain) out.retained = await retain(tx, input.retain, input.now)
  return out
}

async function claimAndTick(tx: StoreTx, input: SettleAndClaimInput, req: ClaimRequest | undefined, c: Changes, out: SettleAndClaimOutcome): Promise<void> {
  const queues = [...new Set([...(req?.queues ?? []), ...(input.tick?.queues ?? [])])]
  await fireSchedules(tx, c)
  await promote(tx, queues, c)
  if (req) out.claimed = await claim(tx, req, c)
  // A full claim means more may be ready: the engine comes back at once, without a timer. So
  // the wake-up queries run only when the claim has room left or the engine asked (a tick).
  const room = req !== undefined && out.claimed.length < req.limit + (req.ahead ?? 0)
  if (room || input.tick) {
    const times = await Promise.all([
      tx.nextDue(queues),
      tx.nextScheduleAt(),
      room ? tx.nextExpiry({ queues: req.queues, types: req.types }, input.now) : undefined,
    ])
    const wake = earliest(times)
    if (wake !== undefined) out.nextWakeAt = wake
  }
}

/** Delayed jobs whose runAt has come are waiting now; each move is an event, so views of the job see it. */
async function promote(tx: StoreTx, queues: string[], c: Changes): Promise<void> {
  const due = await tx.due(queues, c.now, PROMOTE_LIMIT)
  const writes = due.map((j) => {
    c.emit({ kind: 'job:waiting', jobId: j.id, type: j.type, queue: j.queue })
    return tx.putJob({ ...j, state: 'waiting' })
  })
  await Promise.all(writes)
}

async function settleOne(tx: StoreTx, s: Settlement, job: StoredJob | undefined, c: Changes): Promise<boolean> {
  if (!job || job.state !== 'active' || job.lease?.token !== s.token) return false
  // A job cancelled while it ran ends cancelled whatever its handler returned: `cancel` said so
  // when it found the job active, and the engine may not have seen the cancel at all.
  const outcome: Outcome = job.cancelRequested ? { kind: 'cancelled' } : s.outcome
  const next = endAttempt(job, outcome, s.random ?? 0.5, c)
  await finishInGroups(tx, next, c)
  return true
}

async function claim(tx: StoreTx, req: ClaimRequest, c: Changes): Promise<StoredJob[]> {
  const scope: QueueScope = { queues: req.queues, types: req.types }
  const claimed: StoredJob[] = []
  const running = new Set(req.running)
  // The claimer is alive, whatever it was told: its own leases are left to their expiry.
  const alive = req.alive && { owners: [...req.alive.owners, req.owner], asOf: req.alive.asOf }
  const ahead = req.ahead ?? 0
  const expired = await takeBack(tx, scope, req.limit + ahead + running.size, running, alive, c)
  for (const j of expired.slice(0, req.limit)) {
    c.emit({ kind: 'job:stalled', jobId: j.id, type: j.type })
    if (j.cancelRequested) {
      // Cancelled while it ran, then its engine died: the cancel still holds.
      await finishInGroups(tx, endAttempt(j, { kind: 'cancelled' }, 0, c), c)
      continue
    }
    if (j.attempt < j.maxAttempts) {
      claimed.push(lease(j, req, c))
      continue
    }
    const error = {
      name: 'LeaseLostError',
      code: 'LEASE_LOST',
      message:
        (j.lease?.until ?? 0) <= c.now
          ? `the lease on job ${j.id} expired during its last attempt (${j.attempt} of ${j.maxAttempts})`
          : `the engine that held job ${j.id} died during its last attempt (${j.attempt} of ${j.maxAttempts})`,
    }
    const failed = endAttempt(j, { kind: 'failed', error, unrecoverable: true }, 0, c)
    await finishInGroups(tx, failed, c)
  }
  // Written before the ready query, so a chain step released by a failed stall is seen by it.
  await writeChanges(tx, c)
  const room = req.limit - claimed.length
  if (room + ahead > 0) {
    // A job the claimer still runs may be waiting again (its attempt timed out or its lease
    // was lost while the handler went on): it is left to others, and the claim still fills.
    const ready = (await tx.ready(scope, room + ahead + running.size, req.order ?? 'priority')).filter((j) => !running.has(j.id))
    for (const j of ready.slice(0, room)) claimed.push(lease(j, req, c))
    for (const j of ready.slice(Math.max(0, room), Math.max(0, room) + ahead)) claimed.push(leaseAhead(j, req, c))
  }
  await writeChanges(tx, c)
  return claimed
}

/**
 * The expired (or dead engines') leases of the scope that were attempts, at most `page` less
 * those in `running`. Jobs claimed ahead among them never started: each goes back to waiting in
 * its place (the ready query may claim it), and a page of them is followed by the next, so a
 * dead engine's whole buffer goes back at once and does not crowd out its stalled attempts.
 */
async function takeBack(tx: StoreTx, scope: QueueScope, page: number, running: Set<string>, alive: AliveOwners | undefined, c: Changes): Promise<StoredJob[]> {
  const stalled = new Map<string, StoredJob>()
  for (;;) {
    const found = await tx.expired(scope, c.now, page, alive)
    let back = 0
    for (const j of found) {
      if (running.has(j.id)) continue
      if (!j.ahead) stalled.set(j.id, j)
      else {
        // Cancelled while claimed ahead, and its engine is gone: the cancel holds.
        if (j.cancelRequested) await finishInGroups(tx, cancelQueued(j, c), c)
        else unclaim(j, c)
        back++
      }
    }
    if (back === 0 || found.length < page) return [...stalled.values()]
    await writeChanges(tx, c)
  }
}

/** A claim's order and version, checked before anything is read. */
function checkClaim(req: ClaimRequest): void {
  if (req.order !== undefined && req.order !== 'priority' && req.order !== 'runAt') {
    throw new InvalidArgumentError(`claim order must be 'priority' or 'runAt', got ${JSON.stringify(req.order)}`)
  }
  checkVersion(req.version, "a claim's version")
}

/** A version to write as `processedBy`: absent, or a non-empty string. */
function checkVersion(version: unknown, what: string): void {
  if (version !== undefined && (typeof version !== 'string' || version === '')) {
    throw new InvalidArgumentError(`${what} must be a non-empty string`)
  }
}

/** The earliest of these times; one that is not a finite number (read from a damaged record) is left out. */
function earliest(times: (number | undefined)[]): number | undefined {
  const defined = times.filter((t): t is number => typeof t === 'number' && Number.isFinite(t))
  return defined.length === 0 ? undefined : Math.min(...defined)
}
