/**
 * ferry's speed goals for the Chromium stores, as checks over the rows. A ratio is ferry ÷ the
 * other row unless the label says otherwise.
 *
 * @module
 */
import type { Goal } from '../lib/goals.js'
import { IDB_FERRY, IDB_RAW, OPFS_FERRY, OPFS_RAW, WORKBOX } from './names.js'

export const BROWSER_GOALS: Goal[] = [
  { label: 'IndexedDB store ≥ 5,000 processed jobs/s, concurrency 8', kind: 'rate', scenario: 'process-c8', a: IDB_FERRY, min: 5000 },
  { label: 'IndexedDB store ≥ 5× the Workbox queue, processed, concurrency 8', kind: 'ratio', scenario: 'process-c8', a: IDB_FERRY, b: WORKBOX, min: 5 },
  { label: 'IndexedDB store ≥ 3× the Workbox queue, processed, concurrency 1', kind: 'ratio', scenario: 'process-c1', a: IDB_FERRY, b: WORKBOX, min: 3 },
  { label: 'SQLite on OPFS ≥ 2,000 processed jobs/s, concurrency 8', kind: 'rate', scenario: 'process-c8', a: OPFS_FERRY, min: 2000 },
  { label: 'SQLite on OPFS: dispatch → start p50 ÷ a raw single commit p50, same run', kind: 'p50-ratio', scenario: 'commit', a: OPFS_FERRY, aScenario: 'latency', b: OPFS_RAW, max: 1 },
  { label: 'IndexedDB store: dispatchMany of 1,000 ≥ 0.5× the raw ceiling (IndexedDB)', kind: 'ratio', scenario: 'dispatch-many', a: IDB_FERRY, b: IDB_RAW, min: 0.5 },
  { label: 'IndexedDB store: a batch of 10,000 with callbacks ≥ 0.5× 10,000 plain jobs', kind: 'ratio', scenario: 'plain', a: IDB_FERRY, aScenario: 'batch', b: IDB_FERRY, min: 0.5 },
  { label: 'latency p50, IndexedDB store', kind: 'p50', scenario: 'latency', a: IDB_FERRY, max: 5 },
]
