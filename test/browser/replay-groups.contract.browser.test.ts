import { deleteDB } from 'idb'
import { afterAll, describe } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { replayGroupContract } from '../../src/testing/contract/replay-groups.js'

// A fresh database per store; the run's prefix keeps reruns in one profile apart.
const run = Date.now().toString(36)
const names: string[] = []
describe('idbStore in Chromium', () =>
  replayGroupContract(() => {
    const name = `ferry-replay-groups-${run}-${names.length}`
    names.push(name)
    return idbStore({ name })
  }))

afterAll(async () => {
  await Promise.all(names.map((name) => deleteDB(name)))
})
