/**
 * Storage that fails (before, inside or after a transaction) under generated workloads: on the
 * memory store and on SQLite. The properties are in `store-faults-property.ts`; the browser
 * project runs them on IndexedDB.
 */
import fc from 'fast-check'
import { describe, it } from 'vitest'
import { memoryStore } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { checkScenario, scenario } from './store-faults-property.js'

describe('store faults under generated workloads (property)', () => {
  it('memory store: no acknowledged dispatch lost, no step or callback skipped or doubled, every attempt ran its handler', async () => {
    await fc.assert(fc.asyncProperty(scenario, (sc) => checkScenario(sc, () => memoryStore())), { numRuns: 150 })
  }, 60_000)

  it('SQLite: the same properties', async () => {
    await fc.assert(fc.asyncProperty(scenario, (sc) => checkScenario(sc, () => sqliteStore())), { numRuns: 60 })
  }, 60_000)
})
