/**
 * Moving a job's chain or batch when the job finishes, in the same transaction.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { StoredJob } from '../store.js'
import { batchMemberFinished, chainStepFinished, isFinished, type Changes } from '../transitions.js'

/** Reads what the chain or batch rules need and applies them for a job that just finished. */
export async function finishInGroups(tx: StoreTx, job: StoredJob, c: Changes): Promise<void> {
  if (!isFinished(job.state)) return
  if (job.chainId !== undefined) {
    const chain = c.chains.get(job.chainId) ?? (await tx.getChain(job.chainId))
    if (chain && chain.state === 'running') {
      const after = chain.jobIds.slice((job.step ?? 0) + 1)
      const rest = await readJobs(tx, after, c)
      chainStepFinished(chain, job, rest, c)
    }
  }
  if (job.batchId !== undefined) {
    const batch = c.batches.get(job.batchId) ?? (await tx.getBatch(job.batchId))
    if (batch) {
      const failsBatch = job.state === 'failed' && !batch.allowFailures && batch.state === 'running'
      const members = failsBatch ? await readJobs(tx, batch.jobIds, c) : []
      const progressJob = batch.progressJobId === undefined ? undefined : await tx.getJob(batch.progressJobId)
      batchMemberFinished(batch, job, members, progressJob, c)
    }
  }
}

/** Jobs by id as they are in this transaction, changes not yet written included. */
export async function readJobs(tx: StoreTx, ids: string[], c: Changes): Promise<StoredJob[]> {
  const out: StoredJob[] = []
  for (const id of ids) {
    const j = c.jobs.get(id) ?? (await tx.getJob(id))
    if (j) out.push(j)
  }
  return out
}
