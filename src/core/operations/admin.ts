/**
 * `Store.cancel`, `Store.replay` and `Store.prune`.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { CancelInput, CancelOutcome, ReplayOutcome } from '../store.js'
import { Changes, cancelBatch, cancelQueued, isFinished, notStarted } from '../transitions.js'
import { QueueError } from '../errors.js'
import { batchJobIds, finishInGroups, readBatch, readJobs } from './groups.js'
import { writeChanges } from './write.js'

export async function cancel(tx: StoreTx, input: CancelInput): Promise<CancelOutcome> {
  const c = new Changes(input.now)
  const out: CancelOutcome = { cancelled: [], requested: [], events: c.events }
  const ids = input.jobIds ?? []
  const read = await Promise.all(ids.map((id) => tx.getJob(id)))
  for (const [i, id] of ids.entries()) {
    const j = c.jobs.get(id) ?? read[i]
    if (!j) continue
    if (notStarted(j)) {
      await finishInGroups(tx, cancelQueued(j, c), c)
      out.cancelled.push(id)
    } else if (j.state === 'active' && !j.cancelRequested) {
      c.job({ ...j, cancelRequested: true })
      out.requested.push(id)
    }
  }
  if (input.batchId !== undefined) {
    const batch = await readBatch(tx, input.batchId, c)
    if (batch) {
      const members = await readJobs(tx, await batchJobIds(tx, batch.id, c), c)
      const before = new Set(members.filter(notStarted).map((m) => m.id))
      cancelBatch(batch, members, c)
      for (const id of before) if (c.jobs.get(id)?.state === 'cancelled') out.cancelled.push(id)
      // Claimed ahead: the engine that holds each is told to drop it or stop its handler.
      for (const m of members) if (!before.has(m.id) && c.jobs.get(m.id)?.cancelRequested && !m.cancelRequested) out.requested.push(m.id)
    }
  }
  await writeChanges(tx, c)
  return out
}

/** A failed or cancelled single job goes back to waiting; chain and batch members cannot. */
export async function replay(tx: StoreTx, input: { now: number; id: string }): Promise<ReplayOutcome> {
  const c = new Changes(input.now)
  const j = await tx.getJob(input.id)
  if (!j || (j.state !== 'failed' && j.state !== 'cancelled')) return { replayed: false, events: [] }
  if (j.chainId !== undefined || j.batchId !== undefined) {
    throw new QueueError(`job ${j.id} belongs to a ${j.chainId !== undefined ? 'chain' : 'batch'} and cannot be replayed alone`, {
      code: 'INVALID_STATE',
    })
  }
  const { finishedAt: _f, error: _e, result: _r, progress: _p, startedAt: _s, lease: _l, cancelRequested: _c, ...rest } = j
  await tx.putJob({ ...rest, state: 'waiting', attempt: 0, runAt: input.now })
  c.emit({ kind: 'job:dispatched', jobId: j.id, type: j.type, queue: j.queue })
  return { replayed: true, events: c.events }
}

/** Page size of one prune transaction. */
export const PRUNE_PAGE = 500

/** One page of pruning; returns the jobs deleted and whether there may be more. */
export async function prunePage(tx: StoreTx, before: number): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0
  const groups = await tx.groupsFinishedBefore(before, PRUNE_PAGE)
  const memberIds = [...groups.chains.map((ch) => ch.jobIds), ...(await Promise.all(groups.batches.map((b) => tx.batchJobIds(b.id))))].flat()
  const members = await Promise.all(memberIds.map((id) => tx.getJob(id)))
  const writes: Promise<void>[] = []
  for (const j of members) {
    if (j && isFinished(j.state)) {
      writes.push(tx.deleteJob(j.id))
      deleted++
    }
  }
  for (const ch of groups.chains) writes.push(tx.deleteChain(ch.id))
  for (const b of groups.batches) writes.push(tx.deleteBatch(b.id))
  await Promise.all(writes)
  const jobs = await tx.finishedBefore(before, PRUNE_PAGE)
  await Promise.all(jobs.map((j) => tx.deleteJob(j.id)))
  deleted += jobs.length
  const more = jobs.length === PRUNE_PAGE || groups.chains.length === PRUNE_PAGE || groups.batches.length === PRUNE_PAGE
  return { deleted, more }
}
