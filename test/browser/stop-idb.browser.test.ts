import { deleteDB } from 'idb'
import { afterAll } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { stopScenarios } from '../storage/idb/stop-scenarios.js'

const names = new Set<string>()
stopScenarios('idbStore in Chromium', (name) => {
  names.add(name)
  return idbStore({ name })
})

afterAll(async () => {
  await Promise.all([...names].map((name) => deleteDB(name)))
})
