/**
 * ferry: a durable job queue that runs inside the application.
 *
 * This entry holds the engine and the in-memory store. Storage, workers, streams and testing
 * live in their own entries (`ferry/idb`, `ferry/wasm-sqlite`, `ferry/workers`,
 * `ferry/observable`, `ferry/testing`).
 *
 * @module ferry
 */
export { createQueue } from './core/queue.js'
export type { Queue, QueueOptions, ScheduleInfo, ScheduleOptions } from './core/queue.js'
export { job } from './core/job-spec.js'
export { browserConnectivity } from './core/connectivity.js'
export type { Connectivity, NetworkMode, RegisterOptions } from './core/connectivity.js'
export type { JobSpec, SpecOf } from './core/job-spec.js'
export type { BatchBuilder, ChainBuilder } from './core/builders.js'
export type { JobDefaults } from './core/resolve-spec.js'
export { memoryStore } from './core/memory-store.js'
export { retentionDefaults } from './core/retention.js'
export type { Keep, Retention } from './core/retention.js'
export type { Codec } from './core/codec.js'
export type { AttemptEnd, AttemptEndOutcome, DispatchCall, DispatchedJob, Instrumentation } from './core/instrumentation.js'
export { encryptedCodec } from './core/encrypted-codec.js'
export { defineStore } from './core/define-store.js'
export type { DefineStoreOptions } from './core/define-store.js'
export { exclusiveLiveness, webLocksLiveness } from './core/liveness.js'
export type { Liveness, WebLocks } from './core/liveness.js'
export { systemClock } from './core/clock.js'
export { compose, failOnError, rateLimit, skipWhen, withoutOverlapping } from './core/middleware.js'
export {
  InvalidArgumentError,
  JobCancelledError,
  JobDeferredError,
  JobSkippedError,
  JobTimeoutError,
  LeaseLostError,
  NotFoundError,
  QueueClosedError,
  QueueError,
  SerializationError,
  StorageError,
  StorageFullError,
  StoreLockedError,
  UnrecoverableError,
  deserializeError,
  serializeError,
} from './core/errors.js'
export type {
  Backoff,
  BatchState,
  ChainState,
  Clock,
  Counts,
  DispatchResult,
  FinishedState,
  GroupState,
  Handler,
  JobContext,
  JobFilter,
  JobMap,
  JobMeta,
  JobRecord,
  JobState,
  Middleware,
  QueueEvent,
  QueueEventKind,
  QueueLike,
  SerializedError,
  Subscribable,
} from './core/types.js'
export type {
  AliveOwners,
  AttemptOutcome,
  CallbackDraft,
  CallbackOf,
  CancelInput,
  CancelOutcome,
  ClaimOrder,
  ClaimRequest,
  InsertInput,
  InsertOutcome,
  Lease,
  NewBatch,
  NewChain,
  NewJob,
  RenewInput,
  RenewOutcome,
  ReplayGroupInput,
  ReplayOutcome,
  RetainRequest,
  SettleAndClaimInput,
  SettleAndClaimOutcome,
  Settlement,
  Store,
  StoredBatch,
  StoredChain,
  StoredJob,
  StoredSchedule,
} from './core/store.js'
export type { FinishedQuery, QueueScope, StoreBackend, StoreReadTx, StoreTx } from './core/store-backend.js'
