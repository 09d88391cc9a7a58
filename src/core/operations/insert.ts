/**
 * `Store.insert`: single jobs (with id and unique-key deduplication), chains and batches.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { CallbackDraft, InsertInput, InsertOutcome, StoredBatch, StoredChain } from '../store.js'
import { Changes, batchView, dispatched, newJob } from '../transitions.js'
import { InvalidArgumentError } from '../errors.js'
import { checkStorable } from '../storable.js'
import type { DispatchResult } from '../types.js'

export async function insert(tx: StoreTx, input: InsertInput): Promise<InsertOutcome> {
  // Every payload first, callbacks too: one that cannot be stored must stop the call before
  // its first write, on every store alike.
  checkPayloads(input)
  const { now } = input
  const c = new Changes(now)
  const results: DispatchResult[] = []
  for (const n of input.jobs) {
    const existing = await tx.getJob(n.id)
    if (existing) {
      results.push({ id: existing.id, duplicate: true })
      continue
    }
    if (n.uniqueKey !== undefined) {
      const holder = await tx.findUnique(n.uniqueKey, now)
      if (holder) {
        results.push({ id: holder.id, duplicate: true })
        continue
      }
    }
    const j = newJob(n, await tx.nextSeq(), now)
    await tx.putJob(j)
    dispatched(c, j)
    results.push({ id: j.id, duplicate: false })
  }
  for (const ch of input.chains ?? []) {
    if (await tx.getChain(ch.id)) continue
    const chain: StoredChain = {
      id: ch.id,
      state: 'running',
      jobIds: ch.steps.map((s) => s.id),
      current: 0,
      createdAt: now,
      callbacks: ch.callbacks,
    }
    await tx.putChain(chain)
    c.emit({ kind: 'chain:started', chainId: ch.id, jobId: chain.jobIds[0] })
    for (const [i, s] of ch.steps.entries()) {
      await mustBeNew(tx, s.id)
      const j = newJob(s, await tx.nextSeq(), now, { chainId: ch.id, step: i })
      if (i > 0) j.state = 'blocked'
      await tx.putJob(j)
      dispatched(c, j)
    }
  }
  for (const bt of input.batches ?? []) {
    if (await tx.getBatch(bt.id)) continue
    const batch: StoredBatch = {
      id: bt.id,
      ...(bt.name === undefined ? {} : { name: bt.name }),
      state: 'running',
      total: bt.jobs.length,
      pending: bt.jobs.length,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
      jobIds: bt.jobs.map((j) => j.id),
      createdAt: now,
      allowFailures: bt.allowFailures,
      callbacks: bt.callbacks,
      progressCount: 0,
    }
    await tx.putBatch(batch)
    c.emit({ kind: 'batch:started', batchId: bt.id, state: batchView(batch) })
    for (const m of bt.jobs) {
      await mustBeNew(tx, m.id)
      const j = newJob(m, await tx.nextSeq(), now, { batchId: bt.id })
      await tx.putJob(j)
      dispatched(c, j)
    }
  }
  return { results, events: c.events }
}

function checkPayloads(input: InsertInput): void {
  const callbacks = (cbs: Partial<Record<string, CallbackDraft>>, of: string): void => {
    for (const [name, cb] of Object.entries(cbs)) if (cb) checkStorable(cb.payload, 'payload', `the ${name} callback of ${of} (${cb.type})`)
  }
  for (const j of input.jobs) checkStorable(j.payload, 'payload', `job ${j.id} (${j.type})`)
  for (const ch of input.chains ?? []) {
    for (const s of ch.steps) checkStorable(s.payload, 'payload', `job ${s.id} (${s.type}) of chain ${ch.id}`)
    callbacks(ch.callbacks, `chain ${ch.id}`)
  }
  for (const bt of input.batches ?? []) {
    for (const j of bt.jobs) checkStorable(j.payload, 'payload', `job ${j.id} (${j.type}) of batch ${bt.id}`)
    callbacks(bt.callbacks, `batch ${bt.id}`)
  }
}

async function mustBeNew(tx: StoreTx, id: string): Promise<void> {
  if (await tx.getJob(id)) throw new InvalidArgumentError(`a job with id "${id}" exists already; chain and batch jobs must be new`)
}
