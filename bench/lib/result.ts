/**
 * What one measurement reports: the row of a results table, the same in Node and Chromium.
 *
 * @module
 */

/** The scenarios S1 to S5 and the worker measurements, in table order. */
export const SCENARIOS = {
  'dispatch-one': 'S1 · dispatch one at a time',
  'dispatch-many': 'S1 · dispatchMany of 1,000',
  'process-c1': 'S2 · process pre-loaded jobs, concurrency 1',
  'process-c8': 'S2 · process pre-loaded jobs, concurrency 8',
  'process-c1-2p': 'S2 · process pre-loaded jobs, two processes at concurrency 1 each',
  'process-c8-2p': 'S2 · process pre-loaded jobs, two processes at concurrency 8 each',
  latency: 'S3 · latency from dispatch to handler start, light load',
  'latency-return': 'S3 · wait from dispatch resolving to handler start, idle worker',
  'latency-return-2p': 'S3 · wait from dispatch resolving to handler start, idle worker, dispatched by another process',
  commit: 'S3 · one commit at light load: a single-INSERT transaction, what dispatch to start is measured against',
  chains: 'S4 · 1,000 chains of 10 steps, concurrency 8',
  batch: 'S4 · a batch of 10,000 jobs with callbacks, concurrency 8',
  plain: 'S4 · 10,000 plain jobs (one dispatchMany), concurrency 8: what chains and the batch are measured against',
  'scale-1k': 'S5 · claim throughput with 1,000 waiting (concurrency 8)',
  'scale-1m': 'S5 · claim throughput with 1,000,000 waiting (concurrency 8)',
  'list-100k': "S5 · listJobs({ state: 'waiting', limit: 100 }) with 100,000 jobs",
  'worker-dispatch': 'Workers · one dispatch: local vs through a worker_thread',
  'worker-eld': 'Workers · main-thread event-loop delay while jobs are processed',
} as const

export type ScenarioId = keyof typeof SCENARIOS

export interface Row {
  scenario: ScenarioId
  /** Who ran it: `ferry · sqlite file (normal)`, `plainjob (normal)`, `raw · …`. */
  subject: string
  /** ferry, the raw storage ceiling, or a peer library. */
  kind: 'ferry' | 'raw' | 'peer'
  /** The ferry row this one is compared with (its subject). */
  compareTo?: string
  /** Jobs done and the time they took; jobs/s is derived. */
  jobs?: number
  ms?: number
  /** Latency quantiles in ms (per job, or per call where the note says so). */
  p50?: number
  p99?: number
  /** Where a scenario reports it (the Postgres latency). */
  p95?: number
  /** Peak resident set size of the process that ran the subject, in MB. */
  rssMB?: number
  note?: string
  /** Set instead of numbers when the subject could not run here: the reason. */
  unavailable?: string
}
