import { deleteDB } from 'idb'
import { afterAll } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { engineScenarios } from '../storage/idb/engine-scenarios.js'

const names = new Set<string>()
engineScenarios('idbStore in Chromium', (name) => {
  names.add(name)
  return idbStore({ name })
})

afterAll(async () => {
  await Promise.all([...names].map((name) => deleteDB(name)))
})
