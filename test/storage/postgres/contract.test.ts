import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll } from 'vitest'
import { postgresStore } from '../../../src/storage/postgres/index.js'
import { storeContract } from '../../../src/testing/store-contract.js'
import { engineScenarios } from '../idb/engine-scenarios.js'
import { stopScenarios } from '../idb/stop-scenarios.js'

// One PGlite for the file and a schema per store: as apart as a database each, without
// starting PGlite (seconds on a busy machine) per test.
let db: PGlite
beforeAll(async () => {
  db = await PGlite.create()
}, 60_000)
afterAll(() => db.close())

/** The schema of a scenario's database name (`ferry-engine-<run>-<n>`, `ferry-stop-<run>-<n>`): one name, one schema. */
const schemaOf = (name: string): string => name.replace(/\W/g, '_').slice(-63)

let stores = 0
storeContract('postgresStore on PGlite', () => postgresStore({ pool: db, schema: `contract_${++stores}` }))
engineScenarios('postgresStore on PGlite', (name) => postgresStore({ pool: db, schema: schemaOf(name) }))
stopScenarios('postgresStore on PGlite', (name) => postgresStore({ pool: db, schema: schemaOf(name) }))
