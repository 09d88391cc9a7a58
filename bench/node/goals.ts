/**
 * ferry's speed goals for the Node stores, as checks over the rows. A ratio is ferry ÷ the
 * other row unless the label says otherwise.
 *
 * @module
 */
import type { Goal } from '../lib/goals.js'
import { FERRY_STORES, RAW_WASM_NORMAL } from './names.js'

const N = FERRY_STORES['file-normal']
const F = FERRY_STORES['file-full']
const M = FERRY_STORES.memory
const PLAINJOB_N = 'plainjob (WAL, normal)'
const PLAINJOB_F = 'plainjob (WAL, full)'
const P_QUEUE = 'p-queue (memory, not durable)'

export const NODE_GOALS: Goal[] = [
  { label: 'file store (normal) ≥ 2× plainjob (WAL, normal), processed, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: N, b: PLAINJOB_N, min: 2 },
  { label: 'file store (normal) ≥ 2× plainjob (WAL, normal), processed, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: N, b: PLAINJOB_N, min: 2 },
  { label: 'file store (full) ≥ 2× plainjob (WAL, full), processed, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: F, b: PLAINJOB_F, min: 2 },
  { label: 'file store (full) ≥ 2× plainjob (WAL, full), processed, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: F, b: PLAINJOB_F, min: 2 },
  { label: 'file store (normal) ≥ 1.5× BullMQ on local Redis, processed, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: N, b: 'BullMQ (local Redis, AOF everysec)', min: 1.5 },
  { label: 'memory store ≥ 0.3× p-queue, processed, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: M, b: P_QUEUE, min: 0.3 },
  { label: 'memory store ≥ 0.3× p-queue, processed, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: M, b: P_QUEUE, min: 0.3 },
  { label: "file store (normal) dispatchMany of 1,000 ≥ 0.5× the raw ceiling (ferry's engine, file, normal)", kind: 'ratio', scenario: 'dispatch-many', a: N, b: RAW_WASM_NORMAL, min: 0.5 },
  { label: 'memory store: a batch of 10,000 with callbacks ≥ 0.5× 10,000 plain jobs', kind: 'ratio', scenario: 'plain', a: M, aScenario: 'batch', b: M, min: 0.5 },
  { label: 'file store (normal): a batch of 10,000 with callbacks ≥ 0.5× 10,000 plain jobs', kind: 'ratio', scenario: 'plain', a: N, aScenario: 'batch', b: N, min: 0.5 },
  { label: 'memory store: 1,000 chains of 10 steps ≥ 0.7× 10,000 plain jobs', kind: 'ratio', scenario: 'plain', a: M, aScenario: 'chains', b: M, min: 0.7 },
  { label: 'file store (normal): 1,000 chains of 10 steps ≥ 0.7× 10,000 plain jobs', kind: 'ratio', scenario: 'plain', a: N, aScenario: 'chains', b: N, min: 0.7 },
  { label: "file store (normal): listJobs({ state: 'waiting', limit: 100 }) p50 with 100,000 jobs", kind: 'p50', scenario: 'list-100k', a: N, max: 10 },
  { label: 'file store (normal): claim rate with 1,000,000 waiting ≥ 0.8× with 1,000', kind: 'ratio', scenario: 'scale-1k', a: N, aScenario: 'scale-1m', b: N, min: 0.8 },
  { label: 'latency p50, memory store', kind: 'p50', scenario: 'latency', a: M, max: 1 },
  { label: 'latency p50, SQLite file (normal)', kind: 'p50', scenario: 'latency', a: N, max: 5 },
  { label: 'latency p50, SQLite file (full)', kind: 'p50', scenario: 'latency', a: F, max: 5 },
]
