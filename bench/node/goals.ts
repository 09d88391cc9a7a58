/**
 * ferry's speed goals for the Node stores, as checks over the rows.
 *
 * @module
 */
import type { Goal } from '../lib/goals.js'
import { FERRY_STORES } from './names.js'

const N = FERRY_STORES['file-normal']
const F = FERRY_STORES['file-full']
const M = FERRY_STORES.memory

export const NODE_GOALS: Goal[] = [
  { label: 'file store (normal) ≥ 2× plainjob, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: N, b: 'plainjob (WAL, normal)', min: 2 },
  { label: 'file store (normal) ≥ 2× plainjob, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: N, b: 'plainjob (WAL, normal)', min: 2 },
  { label: 'file store (full) ≥ 2× plainjob, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: F, b: 'plainjob (WAL, full)', min: 2 },
  { label: 'file store (full) ≥ 2× plainjob, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: F, b: 'plainjob (WAL, full)', min: 2 },
  { label: 'file store (normal) ≥ 1.5× BullMQ, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: N, b: 'BullMQ (local Redis, AOF everysec)', min: 1.5 },
  { label: 'memory store ≥ 0.3× p-queue, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: M, b: 'p-queue (memory, not durable)', min: 0.3 },
  { label: 'memory store ≥ 0.3× p-queue, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: M, b: 'p-queue (memory, not durable)', min: 0.3 },
  { label: 'latency p50, memory store', kind: 'p50', scenario: 'latency', a: M, max: 1 },
  { label: 'latency p50, SQLite in memory', kind: 'p50', scenario: 'latency', a: FERRY_STORES['sqlite-memory'], max: 5 },
  { label: 'latency p50, SQLite file (normal)', kind: 'p50', scenario: 'latency', a: N, max: 5 },
  { label: 'latency p50, SQLite file (full)', kind: 'p50', scenario: 'latency', a: F, max: 5 },
  { label: 'claim rate with 1,000,000 waiting ≥ 0.8× with 1,000', kind: 'ratio', scenario: 'scale-1k', a: N, aScenario: 'scale-1m', b: N, min: 0.8 },
]
