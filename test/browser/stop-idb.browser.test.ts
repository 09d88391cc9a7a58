import { deleteDB } from 'idb'
import { afterAll } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { idbUpgradeStopScenario, stopScenarios } from '../storage/idb/stop-scenarios.js'

const names = new Set<string>()
const open = (name: string) => {
  names.add(name)
  return idbStore({ name })
}
stopScenarios('idbStore in Chromium', open)
idbUpgradeStopScenario('idbStore in Chromium', open)

afterAll(async () => {
  await Promise.all([...names].map((name) => deleteDB(name)))
})
