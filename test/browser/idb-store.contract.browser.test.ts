import { deleteDB } from 'idb'
import { afterAll } from 'vitest'
import { idbStore } from '../../src/storage/idb/index.js'
import { storeContract } from '../../src/testing/index.js'

// A fresh database per store; the run's prefix keeps reruns in one profile apart.
const run = Date.now().toString(36)
const names: string[] = []
storeContract('idbStore in Chromium', () => {
  const name = `ferry-contract-${run}-${names.length}`
  names.push(name)
  return idbStore({ name })
})

afterAll(async () => {
  await Promise.all(names.map((name) => deleteDB(name)))
})
