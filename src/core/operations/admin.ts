/**
 * `Store.cancel`, `Store.replay` and `Store.prune`.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { CancelInput, CancelOutcome, ReplayOutcome, StoredBatch, StoredChain } from '../store.js'
import { unreadableOf } from '../damaged.js'
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
  const found = await tx.groupsFinishedBefore(before, PRUNE_PAGE)
  // A backend may add the damaged groups it holds that are not finished: each goes once all
  // its jobs, found by the jobs' index, finished before `before`.
  const open = (g: StoredChain | StoredBatch): boolean => g.finishedAt === undefined && unreadableOf(g) !== undefined
  const chains = found.chains.filter((g) => !open(g))
  const batches = found.batches.filter((g) => !open(g))
  const damaged = await Promise.all([
    ...found.chains.filter(open).map(async (g) => ({ kind: 'chain' as const, id: g.id, ids: await damagedMembers(tx, { chainId: g.id }, before) })),
    ...found.batches.filter(open).map(async (g) => ({ kind: 'batch' as const, id: g.id, ids: await damagedMembers(tx, { batchId: g.id }, before) })),
  ])
  const memberIds = [...chains.map((ch) => ch.jobIds), ...(await Promise.all(batches.map((b) => tx.batchJobIds(b.id))))].flat()
  const members = await Promise.all(memberIds.map((id) => tx.getJob(id)))
  const writes: Promise<void>[] = []
  for (const j of members) {
    if (j && isFinished(j.state)) {
      writes.push(tx.deleteJob(j.id))
      deleted++
    }
  }
  for (const ch of chains) writes.push(tx.deleteChain(ch.id))
  for (const b of batches) writes.push(tx.deleteBatch(b.id))
  for (const g of damaged) {
    if (!g.ids) continue
    for (const id of g.ids) writes.push(tx.deleteJob(id))
    deleted += g.ids.length
    writes.push(g.kind === 'chain' ? tx.deleteChain(g.id) : tx.deleteBatch(g.id))
  }
  await Promise.all(writes)
  const jobs = await tx.finishedBefore(before, PRUNE_PAGE)
  await Promise.all(jobs.map((j) => tx.deleteJob(j.id)))
  deleted += jobs.length
  const more = jobs.length === PRUNE_PAGE || chains.length === PRUNE_PAGE || batches.length === PRUNE_PAGE
  return { deleted, more }
}

/** The ids of a damaged group's jobs when every one finished before `before`; otherwise undefined. */
async function damagedMembers(tx: StoreTx, of: { chainId: string } | { batchId: string }, before: number): Promise<string[] | undefined> {
  const jobs = await tx.listJobs({ ...of, limit: Number.MAX_SAFE_INTEGER }, before)
  return jobs.every((j) => isFinished(j.state) && j.finishedAt !== undefined && j.finishedAt < before) ? jobs.map((j) => j.id) : undefined
}
