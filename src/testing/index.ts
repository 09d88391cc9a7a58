/**
 * ferry/testing: a fake queue with assertions and a test queue with a manual clock, for
 * testing code that uses ferry; the conformance suite for stores; and a store that fails on
 * purpose, for testing what happens when storage fails.
 *
 * @module ferry/testing
 */
export { createFakeQueue, AssertionError } from './fake-queue.js'
export type { FakeQueue, RecordedBatch, RecordedChain, RecordedJob, RecordedSchedule } from './fake-queue.js'
export { createTestQueue } from './test-queue.js'
export type { TestQueue, TestQueueOptions } from './test-queue.js'
export { storeContract } from './store-contract.js'
export { ManualClock } from './manual-clock.js'
export { manualConnectivity } from './manual-connectivity.js'
export type { ManualConnectivity } from './manual-connectivity.js'
export { faultyStore, randomFaults, isInjectedFault, INJECTED_FAULT } from './faulty-store.js'
export type { FaultyStore, FaultPlan, FaultRule, FaultKind, FaultCall, InjectedFault, StoreMethod } from './faulty-store.js'
