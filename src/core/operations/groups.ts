/**
 * Moving a job's chain or batch when the job finishes, in the same transaction.
 *
 * @module
 */
import type { StoreReadTx, StoreTx } from '../store-backend.js'
import type { StoredBatch, StoredJob } from '../store.js'
import { unreadableOf } from '../damaged.js'
import { batchMemberFinished, chainStepFinished, isFinished, type Changes } from '../transitions.js'

/** Reads what the chain or batch rules need and applies them for a job that just finished. */
export async function finishInGroups(tx: StoreTx, job: StoredJob, c: Changes): Promise<void> {
  if (!isFinished(job.state)) return
  if (job.chainId !== undefined) {
    const chain = c.chains.get(job.chainId) ?? (await tx.getChain(job.chainId))
    // A chain whose record is damaged is left as it is: no step is released from it.
    if (chain && chain.state === 'running' && unreadableOf(chain) === undefined) {
      // On success the next step is released; otherwise every step not started ends, those
      // before this one too (a later step can be cancelled while earlier ones wait).
      const others = job.state === 'succeeded' ? chain.jobIds.slice((job.step ?? 0) + 1) : chain.jobIds.filter((id) => id !== job.id)
      const rest = await readJobs(tx, others, c)
      chainStepFinished(chain, job, rest, c)
    }
  }
  if (job.batchId !== undefined) {
    const batch = await readBatch(tx, job.batchId, c)
    // A batch whose record is damaged is left as it is; the job is settled all the same.
    if (batch && unreadableOf(batch) === undefined) {
      const ids = await batchJobIds(tx, batch.id, c)
      const failsBatch = job.state === 'failed' && !batch.allowFailures && batch.state === 'running'
      const [members, progressJob] = await Promise.all([
        failsBatch ? readJobs(tx, ids, c) : [],
        batch.progressJobId === undefined ? undefined : readJob(tx, batch.progressJobId, c),
      ])
      batchMemberFinished(batch, job, members, progressJob, c)
    }
  }
}

/**
 * The batch as it is in this transaction. A record written before batches stopped listing
 * their members may still carry `jobIds`: it is dropped, and goes with the next write.
 */
export async function readBatch(tx: StoreReadTx, id: string, c: Changes): Promise<StoredBatch | undefined> {
  const pending = c.batches.get(id)
  if (pending) return pending
  const stored = await tx.getBatch(id)
  if (!stored || !('jobIds' in stored)) return stored
  const { jobIds: _, ...batch } = stored as StoredBatch & { jobIds?: unknown }
  // Spread, the record keeps what marks it damaged (`unreadable` and its stored form).
  return batch
}

/** The batch's member ids in dispatch order: read once per transaction, kept on `c`. */
export async function batchJobIds(tx: StoreReadTx, id: string, c: Changes): Promise<string[]> {
  let ids = c.batchJobIds.get(id)
  if (!ids) {
    ids = await tx.batchJobIds(id)
    c.batchJobIds.set(id, ids)
  }
  return ids
}

/**
 * A job as it is in this transaction: changed, or created as a callback, but not yet written,
 * or as stored.
 */
export async function readJob(tx: StoreReadTx, id: string, c: Changes): Promise<StoredJob | undefined> {
  return c.jobs.get(id) ?? c.created.find((j) => j.id === id) ?? (await tx.getJob(id))
}

/** Jobs by id as they are in this transaction, changes not yet written included; read together. */
export async function readJobs(tx: StoreReadTx, ids: string[], c: Changes): Promise<StoredJob[]> {
  const jobs = await Promise.all(ids.map(async (id) => c.jobs.get(id) ?? tx.getJob(id)))
  return jobs.filter((j): j is StoredJob => j !== undefined)
}
