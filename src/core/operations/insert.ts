/**
 * `Store.insert`: single jobs (with id and unique-key deduplication), chains and batches.
 *
 * @module
 */
import type { StoreTx } from '../store-backend.js'
import type { CallbackDraft, InsertInput, InsertOutcome, NewJob, StoredBatch, StoredChain, StoredJob } from '../store.js'
import { Changes, dispatched, newJob } from '../transitions.js'
import { InvalidArgumentError } from '../errors.js'
import { checkStorable } from '../storable.js'
import { checkMeta } from '../job-spec.js'
import type { DispatchResult } from '../types.js'

export async function insert(tx: StoreTx, input: InsertInput): Promise<InsertOutcome> {
  // Every payload first, callbacks too: one that cannot be stored must stop the call before
  // its first write, on every store alike.
  checkPayloads(input)
  const { now } = input
  const chains = input.chains ?? []
  const batches = input.batches ?? []
  const members = [...chains.flatMap((ch) => ch.steps), ...batches.flatMap((bt) => bt.jobs)]

  // Read: everything this call depends on, asked together.
  const [byId, byKey, chainsFound, batchesFound, membersFound] = await Promise.all([
    Promise.all(input.jobs.map((n) => tx.getJob(n.id))),
    Promise.all(input.jobs.map(async (n) => (n.uniqueKey === undefined ? undefined : tx.findUnique(n.uniqueKey, now)))),
    Promise.all(chains.map((ch) => tx.getChain(ch.id))),
    Promise.all(batches.map((bt) => tx.getBatch(bt.id))),
    Promise.all(members.map((m) => tx.getJob(m.id))),
  ])

  // Decide: which jobs are duplicates (of stored jobs, or of an earlier job of this call).
  const results: DispatchResult[] = []
  const single: NewJob[] = []
  const ids = new Set<string>()
  const keys = new Map<string, string>()
  for (const [i, n] of input.jobs.entries()) {
    const holder = byId[i] ?? (ids.has(n.id) ? { id: n.id } : undefined) ?? byKey[i] ?? held(keys, n.uniqueKey)
    if (holder) {
      results.push({ id: holder.id, duplicate: true })
      continue
    }
    ids.add(n.id)
    // As a stored job would: it holds its key while `uniqueUntil` is later than now.
    if (n.uniqueKey !== undefined && (n.uniqueUntil ?? 0) > now) keys.set(n.uniqueKey, n.id)
    single.push(n)
    results.push({ id: n.id, duplicate: false })
  }
  // A chain or batch that exists, or comes twice in this call, is written once.
  const newChains = chains.filter((ch, i) => !chainsFound[i] && chains.findIndex((o) => o.id === ch.id) === i)
  const newBatches = batches.filter((bt, i) => !batchesFound[i] && batches.findIndex((o) => o.id === bt.id) === i)
  // Chain and batch jobs must be new: not stored, and not another job of this call.
  const found = new Map(members.map((m, i) => [m.id, membersFound[i]]))
  for (const m of [...newChains.flatMap((ch) => ch.steps), ...newBatches.flatMap((bt) => bt.jobs)]) {
    if (found.get(m.id) || ids.has(m.id)) {
      throw new InvalidArgumentError(`a job with id "${m.id}" exists already; chain and batch jobs must be new`)
    }
    ids.add(m.id)
  }

  // Write: one range of sequence numbers, then every put, issued together.
  const count = single.length + newChains.reduce((n, ch) => n + ch.steps.length, 0) + newBatches.reduce((n, bt) => n + bt.jobs.length, 0)
  const c = new Changes(now)
  const writes: Promise<void>[] = []
  let seq = count > 0 ? await tx.nextSeq(count) : 0
  const put = (j: StoredJob): void => {
    writes.push(tx.putJob(j))
    dispatched(c, j)
  }
  for (const n of single) put(newJob(n, seq++, now))
  for (const ch of newChains) {
    const chain: StoredChain = {
      id: ch.id,
      state: 'running',
      jobIds: ch.steps.map((s) => s.id),
      current: 0,
      createdAt: now,
      callbacks: ch.callbacks,
    }
    writes.push(tx.putChain(chain))
    c.emit({ kind: 'chain:started', chainId: ch.id, jobId: chain.jobIds[0] })
    for (const [i, s] of ch.steps.entries()) {
      const j = newJob(s, seq++, now, { chainId: ch.id, step: i })
      if (i > 0) j.state = 'blocked'
      put(j)
    }
  }
  for (const bt of newBatches) {
    const batch: StoredBatch = {
      id: bt.id,
      ...(bt.name === undefined ? {} : { name: bt.name }),
      state: 'running',
      total: bt.jobs.length,
      pending: bt.jobs.length,
      succeeded: 0,
      failed: 0,
      cancelled: 0,
      createdAt: now,
      allowFailures: bt.allowFailures,
      callbacks: bt.callbacks,
      progressCount: 0,
    }
    writes.push(tx.putBatch(batch))
    // The members take consecutive seqs in this order: the batch's dispatch order.
    c.batchJobIds.set(bt.id, bt.jobs.map((m) => m.id))
    c.emit({ kind: 'batch:started', batchId: bt.id, state: c.view(batch) })
    for (const m of bt.jobs) put(newJob(m, seq++, now, { batchId: bt.id }))
  }
  await Promise.all(writes)
  return { results, events: c.events }
}

/** The job of this call already holding a unique key, as a duplicate's holder. */
function held(keys: Map<string, string>, key: string | undefined): { id: string } | undefined {
  const id = key === undefined ? undefined : keys.get(key)
  return id === undefined ? undefined : { id }
}

function checkPayloads(input: InsertInput): void {
  const one = (j: CallbackDraft, what: string): void => {
    checkStorable(j.payload, 'payload', what)
    checkJobFacts(j, what)
  }
  const callbacks = (cbs: Partial<Record<string, CallbackDraft>>, of: string): void => {
    for (const [name, cb] of Object.entries(cbs)) if (cb) one(cb, `the ${name} callback of ${of} (${cb.type})`)
  }
  for (const j of input.jobs) one(j, `job ${j.id} (${j.type})`)
  for (const ch of input.chains ?? []) {
    for (const s of ch.steps) one(s, `job ${s.id} (${s.type}) of chain ${ch.id}`)
    callbacks(ch.callbacks, `chain ${ch.id}`)
  }
  for (const bt of input.batches ?? []) {
    for (const j of bt.jobs) one(j, `job ${j.id} (${j.type}) of batch ${bt.id}`)
    callbacks(bt.callbacks, `batch ${bt.id}`)
  }
}

/**
 * A job's metadata and version as a store keeps them: `meta` a small plain object of strings,
 * finite numbers and booleans (`checkMeta`), `dispatchedBy` a non-empty string. Anything else is
 * an `InvalidArgumentError` before the first write.
 */
export function checkJobFacts(j: Pick<NewJob, 'meta' | 'dispatchedBy'>, what: string): void {
  if (j.meta !== undefined) {
    try {
      checkMeta(j.meta)
    } catch (err) {
      throw new InvalidArgumentError(`the meta of ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
  }
  if (j.dispatchedBy !== undefined && (typeof j.dispatchedBy !== 'string' || j.dispatchedBy === '')) {
    throw new InvalidArgumentError(`the dispatchedBy of ${what} must be a non-empty string`)
  }
}

