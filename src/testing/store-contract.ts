/**
 * `storeContract`: the conformance suite every Store passes. It registers Vitest tests that talk
 * to the Store directly, with explicit times, ids and tokens, and check each guarantee of the
 * contract in `core/store.ts`. Each test gets a fresh store from `makeStore` and closes it after.
 *
 * Run it against your own store from any Vitest test file:
 *
 * ```ts
 * import { storeContract } from 'ferry/testing'
 * storeContract('my store', () => myStore())
 * ```
 *
 * `makeStore` must return a new, empty store each time (a durable store: a fresh database name
 * or file per call). The suite uses only the public contract, so it holds for stores built with
 * `defineStore` and for stores written from scratch alike. `watch` and `liveness` are optional:
 * their tests skip when a store has none. Every store honours `ClaimRequest.alive`. A store made
 * with `defineStore` also has its backend checked directly (`nextSeq`, `batchJobIds`, ordered
 * requests); for a store written from scratch those tests skip.
 *
 * @module
 */
import { describe } from './contract/test-api.js'
import type { Store } from '../core/store.js'
import { adminContract } from './contract/admin.js'
import { backendContract } from './contract/backend.js'
import { batchContract } from './contract/batches.js'
import { chainContract } from './contract/chains.js'
import { claimContract } from './contract/claims.js'
import { claimOrderContract } from './contract/claim-order.js'
import { insertContract } from './contract/insert.js'
import { livenessContract } from './contract/liveness.js'
import { metadataContract } from './contract/metadata.js'
import { replayGroupContract } from './contract/replay-groups.js'
import { retentionContract } from './contract/retention.js'
import { scheduleContract } from './contract/schedules.js'
import { settleContract } from './contract/settle.js'
import { watchContract } from './contract/watch.js'

export function storeContract(name: string, makeStore: () => Store | Promise<Store>): void {
  describe(`storeContract: ${name}`, () => {
    insertContract(makeStore)
    claimContract(makeStore)
    claimOrderContract(makeStore)
    metadataContract(makeStore)
    settleContract(makeStore)
    adminContract(makeStore)
    chainContract(makeStore)
    batchContract(makeStore)
    replayGroupContract(makeStore)
    scheduleContract(makeStore)
    watchContract(makeStore)
    livenessContract(makeStore)
    retentionContract(makeStore)
    backendContract(makeStore)
  })
}
