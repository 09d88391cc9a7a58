/**
 * The store-faults property (see test/core/store-faults-property.ts) on IndexedDB in Chromium:
 * faults before, inside (an aborted IndexedDB transaction) and after the commit. Fewer runs
 * than in Node: each one is a fresh database.
 */
import fc from 'fast-check'
import { it } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { checkScenario, scenario } from '../core/store-faults-property.js'

it('IndexedDB: no acknowledged dispatch lost, no step or callback skipped or doubled, every attempt ran its handler', async () => {
  let n = 0
  await fc.assert(
    fc.asyncProperty(scenario, async (sc) => {
      const name = `ferry-faults-${Date.now()}-${n++}`
      try {
        await checkScenario(sc, () => idbStore({ name }))
      } finally {
        await new Promise((resolve) => {
          const req = indexedDB.deleteDatabase(name)
          req.onsuccess = req.onerror = req.onblocked = resolve
        })
      }
    }),
    { numRuns: 30 },
  )
}, 60_000)
