/**
 * ferry/testing: helpers for testing code that uses ferry, and the conformance suite for stores.
 *
 * @module
 */
export { storeContract } from './store-contract.js'
export { ManualClock } from './manual-clock.js'
