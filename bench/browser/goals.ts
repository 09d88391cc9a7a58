/**
 * ferry's speed goals for the Chromium stores, as checks over the rows.
 *
 * @module
 */
import type { Goal } from '../lib/goals.js'
import { IDB_FERRY, OPFS_FERRY, WORKBOX } from './names.js'

export const BROWSER_GOALS: Goal[] = [
  { label: 'IndexedDB store ≥ 5,000 processed jobs/s, concurrency 1', kind: 'rate', scenario: 'process-c1', a: IDB_FERRY, min: 5000 },
  { label: 'IndexedDB store ≥ 5,000 processed jobs/s, concurrency 8', kind: 'rate', scenario: 'process-c8', a: IDB_FERRY, min: 5000 },
  { label: 'IndexedDB store ≥ 10× the Workbox queue, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: IDB_FERRY, b: WORKBOX, min: 10 },
  { label: 'IndexedDB store ≥ 10× the Workbox queue, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: IDB_FERRY, b: WORKBOX, min: 10 },
  { label: 'latency p50, IndexedDB store', kind: 'p50', scenario: 'latency', a: IDB_FERRY, max: 5 },
  { label: 'latency p50, SQLite on OPFS', kind: 'p50', scenario: 'latency', a: OPFS_FERRY, max: 5 },
]
