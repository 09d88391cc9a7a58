/**
 * `Store.replayGroup`: a failed chain from its failed step, a failed batch's failed and
 * cancelled jobs, in one transaction. Only a group whose run is over is replayed: failed, and
 * every one of its jobs ended (a batch fails at its first failure while other members may still
 * run). Everything is read and checked before anything is written: a group that cannot be
 * replayed, one some of whose jobs are gone included, is refused with nothing changed. A replay
 * counts on the group's record (`replays`), which names the callback jobs of its next ending
 * apart from those of the endings before (`callbackId` in `transitions.ts`).
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { ReplayGroupInput, ReplayOutcome, StoredBatch, StoredChain, StoredJob } from '../store.js'
import { NotFoundError, QueueError } from '../errors.js'
import { Changes, dispatched, replaysOf } from '../transitions.js'
import { batchJobIds, readBatch } from './groups.js'
import { writeChanges } from './write.js'

export async function replayGroup(tx: StoreTx, input: ReplayGroupInput): Promise<ReplayOutcome> {
  const c = new Changes(input.now)
  const { id } = input
  if (input.group === 'chain') {
    const chain = await tx.getChain(id)
    if (!chain) throw new NotFoundError(`no chain with id ${id}`)
    if (chain.state !== 'failed') throw notFailed('chain', id, chain.state)
    const steps = await members('chain', id, chain.jobIds, tx)
    if (chain.finishedAt === undefined || steps.some(unsettled)) throw stillRunning('chain', id)
    replayChain(chain, steps, c)
  } else {
    const batch = await readBatch(tx, id, c)
    if (!batch) throw new NotFoundError(`no batch with id ${id}`)
    if (batch.state !== 'failed') throw notFailed('batch', id, batch.state)
    const jobs = await members('batch', id, await batchJobIds(tx, id, c), tx)
    // Its ids come from the jobs' index: one that is gone is missing from them, not undefined.
    if (jobs.length < batch.total) throw gone('batch', id, `${batch.total - jobs.length} of its ${batch.total} jobs are gone`)
    if (batch.pending > 0 || batch.finishedAt === undefined || jobs.some(unsettled)) throw stillRunning('batch', id)
    replayBatch(batch, jobs, c)
  }
  await writeChanges(tx, c)
  return { replayed: true, events: c.events }
}

function notFailed(group: string, id: string, state: string): QueueError {
  return new QueueError(`${group} ${id} is ${state}: only a failed ${group} can be replayed`, { code: 'INVALID_STATE' })
}

/**
 * A failed group whose jobs have not all ended: one still runs, or was claimed ahead by an engine
 * that may have started it (a failure only asks such a job to stop). Its run is not over: its
 * `onSettled` is still to come, and what that job does would count in the replayed run. Only a
 * settled group is replayed.
 */
function stillRunning(group: string, id: string): QueueError {
  return new QueueError(`${group} ${id} failed but some of its jobs still run: wait until its running jobs end, then replay it`, {
    code: 'INVALID_STATE',
  })
}

/** Not ended: a settled group has none (every job of a failed one ended or was cancelled). */
function unsettled(j: StoredJob): boolean {
  return j.state !== 'succeeded' && j.state !== 'failed' && j.state !== 'cancelled'
}

/** Every job of the group; one that is gone (deleted by retention, prune or by hand) leaves the group unreplayable. */
async function members(group: string, id: string, ids: string[], tx: StoreTx): Promise<StoredJob[]> {
  const jobs = await Promise.all(ids.map((m) => tx.getJob(m)))
  const missing = ids.find((_, i) => jobs[i] === undefined)
  if (missing !== undefined) throw gone(group, id, `its job ${missing} is gone`)
  return jobs as StoredJob[]
}

/** A group some of whose jobs were deleted (by retention, prune or by hand): it cannot run whole again. */
function gone(group: string, id: string, what: string): QueueError {
  return new QueueError(`${group} ${id} cannot be replayed: ${what}`, { code: 'INVALID_STATE' })
}

/**
 * A job of a replayed chain or batch, as it was dispatched: attempts reset, and what its earlier
 * run left (outcome, lease, progress) gone. `previousResult` is kept: the step before is not run
 * again.
 */
function again(j: StoredJob): StoredJob {
  const { finishedAt: _f, error: _e, result: _r, progress: _p, startedAt: _s, lease: _l, cancelRequested: _c, ahead: _a, ...rest } = j
  return { ...rest, attempt: 0 }
}

/**
 * A failed chain runs again from its failed step (`steps`: every step, in order; the chain is
 * `failed`). That step waits again (after its `delayMs`, if it has one) with its attempts reset
 * and the result of the step before kept; the steps after it, which the failure cancelled, are
 * blocked again; the chain is running at that step, its error and end gone, and its callbacks
 * will fire again when it ends.
 */
function replayChain(chain: StoredChain, steps: StoredJob[], c: Changes): void {
  const failed = steps.findIndex((s) => s.state === 'failed')
  const at = failed >= 0 ? failed : chain.current
  const { finishedAt: _f, error: _e, ...rest } = chain
  const next: StoredChain = { ...rest, state: 'running', current: at, replays: replaysOf(chain) + 1 }
  c.chains.set(chain.id, next)
  c.emit({ kind: 'chain:started', chainId: chain.id, jobId: steps[at]?.id })
  for (const s of steps.slice(at)) {
    const j = again(s)
    if (s === steps[at]) {
      // Released again: after its delay, as when the step before released it.
      const runAt = c.now + (s.delayMs ?? 0)
      c.job({ ...j, state: runAt > c.now ? 'delayed' : 'waiting', runAt })
    } else {
      delete j.previousResult
      c.job({ ...j, state: 'blocked' })
    }
    dispatched(c, j)
  }
}

/**
 * A failed batch's failed and cancelled members wait again, with their attempts reset; the ones
 * that succeeded stay done (`members`: all of them, every one ended). The batch is running with
 * its counters recounted, its error and end gone, and its callbacks will fire again when it ends.
 * The batch's ids must be in `c.batchJobIds`.
 */
function replayBatch(batch: StoredBatch, members: StoredJob[], c: Changes): void {
  const { finishedAt: _f, error: _e, ...rest } = batch
  const requeued: StoredJob[] = []
  let succeeded = 0
  for (const m of members) {
    if (m.state === 'succeeded') succeeded++
    else requeued.push(c.job({ ...again(m), state: 'waiting', runAt: c.now }))
  }
  const b: StoredBatch = {
    ...rest,
    state: 'running',
    pending: members.length - succeeded,
    succeeded,
    failed: 0,
    cancelled: 0,
    replays: replaysOf(batch) + 1,
  }
  c.batches.set(b.id, b)
  c.emit({ kind: 'batch:started', batchId: b.id, state: c.view(b) })
  for (const j of requeued) dispatched(c, j)
}
