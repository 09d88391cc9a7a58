/**
 * `Store.replayGroup`: a failed chain from its failed step, a failed batch's failed and
 * cancelled jobs, in one transaction. Everything is read and checked before anything is
 * written: a group that cannot be replayed is refused with nothing changed.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { ReplayGroupInput, ReplayOutcome, StoredJob } from '../store.js'
import { NotFoundError, QueueError } from '../errors.js'
import { Changes, replayBatch, replayChain } from '../transitions.js'
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
