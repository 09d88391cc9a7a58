/**
 * What every part of the conformance suite shares: a fresh store per test, and small builders
 * for the inputs of the Store contract, so the tests read as the behaviour they check.
 *
 * @module
 */
import { afterEach, beforeEach } from './test-api.js'
import type {
  AttemptOutcome,
  CallbackDraft,
  ClaimRequest,
  NewBatch,
  NewChain,
  NewJob,
  SettleAndClaimOutcome,
  Store,
  StoredJob,
} from '../../core/store.js'
import type { QueueEvent, SerializedError } from '../../core/types.js'

export type MakeStore = () => Store | Promise<Store>

/** The time most tests dispatch at. The store never reads a clock: every call is told `now`. */
export const T0 = 1000

/** A lease long enough to outlast any test that does not mean to let it expire. */
export const LEASE = 30_000

let ids = 0
/** A name unique in this run: job ids, tokens. */
export function uid(prefix: string): string {
  return `${prefix}-${++ids}`
}

/** A job to insert: type 't' on 'default', priority 0, 3 attempts, 1 s fixed backoff, due at T0. */
export function newJob(overrides: Partial<NewJob> = {}): NewJob {
  return {
    id: uid('job'),
    type: 't',
    queue: 'default',
    payload: {},
    priority: 0,
    maxAttempts: 3,
    backoff: 1000,
    runAt: T0,
    ...overrides,
  }
}

export function newChain(steps: NewJob[], callbacks: NewChain['callbacks'] = {}): NewChain {
  return { id: uid('chain'), steps, callbacks }
}

export function newBatch(jobs: NewJob[], o: Partial<Omit<NewBatch, 'jobs'>> = {}): NewBatch {
  return { id: uid('batch'), allowFailures: false, callbacks: {}, ...o, jobs }
}

/** A callback spec kept by a chain or batch until it is enqueued. */
export function draft(type: string): CallbackDraft {
  return { type, queue: 'default', payload: { callback: type }, priority: 0, maxAttempts: 3, backoff: 1000 }
}

export const boom: SerializedError = { name: 'Error', message: 'boom' }

/** The store of the running test, fresh for each one and closed after it. */
export interface StoreHandle {
  readonly store: Store
  /** Closes the store now; the suite then does not close it again. */
  close(): Promise<void>
}

export function useStore(makeStore: MakeStore): StoreHandle {
  let current: Store | undefined
  let open = false
  beforeEach(async () => {
    current = await makeStore()
    open = true
  })
  afterEach(async () => {
    if (open) await current?.close()
    open = false
    current = undefined
  })
  return {
    get store(): Store {
      if (!current) throw new Error('storeContract: the store is used outside a test')
      return current
    },
    async close() {
      open = false
      await current?.close()
    },
  }
}

/** Inserts single jobs at `now` and returns them as stored. */
export async function insertJobs(store: Store, jobs: NewJob[], now = T0): Promise<StoredJob[]> {
  await store.insert({ now, jobs })
  return Promise.all(jobs.map((j) => mustGet(store, j.id)))
}

export async function mustGet(store: Store, id: string): Promise<StoredJob> {
  const j = await store.getJob(id)
  if (!j) throw new Error(`storeContract: job ${id} is missing`)
  return j
}

/** A claim by `owner` with a fresh token: the default queue and type 't', leased for LEASE. */
export function claimRequest(now: number, o: Partial<ClaimRequest> = {}): ClaimRequest {
  return {
    owner: 'engine-1',
    token: uid('token'),
    queues: ['default'],
    types: ['t'],
    limit: 100,
    leaseUntil: now + LEASE,
    ...o,
  }
}

/** Claims (and settles nothing) at `now`. */
export function claim(store: Store, now: number, o: Partial<ClaimRequest> = {}): Promise<SettleAndClaimOutcome> {
  return store.settleAndClaim({ now, settle: [], claim: claimRequest(now, o) })
}

/** Claims exactly the job `id` (it must be the only ready one of its type) and returns it active. */
export async function claimOne(store: Store, now: number, o: Partial<ClaimRequest> = {}): Promise<StoredJob> {
  const out = await claim(store, now, { limit: 1, ...o })
  const j = out.claimed[0]
  if (!j) throw new Error('storeContract: nothing was claimed')
  return j
}

/** Settles one active job with the token of its lease (no claim). */
export function settle(
  store: Store,
  job: StoredJob,
  now: number,
  outcome: AttemptOutcome,
  token = job.lease?.token ?? 'no-lease',
): Promise<SettleAndClaimOutcome> {
  return store.settleAndClaim({ now, settle: [{ id: job.id, token, outcome }] })
}

/** Claims the job of type `type` and settles it as succeeded: a step of a chain or a batch member. */
export async function run(store: Store, now: number, type: string, outcome: AttemptOutcome = { kind: 'succeeded' }): Promise<StoredJob> {
  const j = await claimOne(store, now, { types: [type] })
  await settle(store, j, now, outcome)
  return mustGet(store, j.id)
}

/** The kinds and job ids of events, for comparing without timestamps. */
export function kinds(events: QueueEvent[]): string[] {
  return events.map((e) => ('jobId' in e && e.jobId !== undefined ? `${e.kind} ${e.jobId}` : e.kind))
}

/** What a call rejected with; fails the test when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (err) {
    return err
  }
  throw new Error('storeContract: expected the call to reject, it resolved')
}

/** A value no store can hold: structured clone and JSON both lose a function. */
export const uncloneable = (): number => 42
