/**
 * `Store.replayGroup`: a failed chain from its failed step, a failed batch's failed and
 * cancelled jobs, in one transaction. Everything is read and checked before anything is
 * written: a group that cannot be replayed is refused with nothing changed. A replay counts on
 * the group's record (`replays`), which names the callback jobs of its next ending apart from
 * those of the endings before (`callbackId` in `transitions.ts`).
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { ReplayGroupInput, ReplayOutcome, StoredBatch, StoredChain, StoredJob } from '../store.js'
import { NotFoundError, QueueError } from '../errors.js'
import { Changes, claimedAhead, dispatched, replaysOf, unclaim } from '../transitions.js'
import { batchJobIds, readBatch } from './groups.js'
import { writeChanges } from './write.js'

export async function replayGroup(tx: StoreTx, input: ReplayGroupInput): Promise<ReplayOutcome> {
  const c = new Changes(input.now)
  const { id } = input
  if (input.group === 'chain') {
    const chain = await tx.getChain(id)
    if (!chain) throw new NotFoundError(`no chain with id ${id}`)
    if (chain.state !== 'failed') throw notFailed('chain', id, chain.state)
    replayChain(chain, await members('chain', id, chain.jobIds, tx), c)
  } else {
    const batch = await readBatch(tx, id, c)
    if (!batch) throw new NotFoundError(`no batch with id ${id}`)
    if (batch.state !== 'failed') throw notFailed('batch', id, batch.state)
    replayBatch(batch, await members('batch', id, await batchJobIds(tx, id, c), tx), c)
  }
  await writeChanges(tx, c)
  return { replayed: true, events: c.events }
}

function notFailed(group: string, id: string, state: string): QueueError {
  return new QueueError(`${group} ${id} is ${state}: only a failed ${group} can be replayed`, { code: 'INVALID_STATE' })
}

/** Every job of the group; one that is gone (deleted by hand) leaves the group unreplayable. */
async function members(group: string, id: string, ids: string[], tx: StoreTx): Promise<StoredJob[]> {
  const jobs = await Promise.all(ids.map((m) => tx.getJob(m)))
  const missing = ids.find((_, i) => jobs[i] === undefined)
  if (missing !== undefined) throw new QueueError(`${group} ${id} cannot be replayed: its job ${missing} is gone`, { code: 'INVALID_STATE' })
  return jobs as StoredJob[]
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
 * A failed batch's failed and cancelled members wait again, with their attempts reset; a member
 * claimed ahead that the failure asked to stop goes back to waiting too (its engine finds its
 * lease gone). Members that run go on. The batch is running with its counters recounted from its
 * members (`members`: all of them), its error and end gone, and its callbacks will fire again when
 * it ends. The batch's ids must be in `c.batchJobIds`.
 */
function replayBatch(batch: StoredBatch, members: StoredJob[], c: Changes): void {
  const { finishedAt: _f, error: _e, ...rest } = batch
  const requeued: StoredJob[] = []
  let succeeded = 0
  for (const m of members) {
    if (m.state === 'succeeded') succeeded++
    else if (m.state === 'failed' || m.state === 'cancelled') requeued.push(c.job({ ...again(m), state: 'waiting', runAt: c.now }))
    else if (claimedAhead(m) && m.cancelRequested) requeued.push(unclaim(m, c))
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
