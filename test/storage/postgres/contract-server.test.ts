import { postgresStore } from '../../../src/storage/postgres/index.js'
import { storeContract } from '../../../src/testing/store-contract.js'
import { freshSchema, testPool } from '../../helpers/postgres.js'
import { engineScenarios } from '../idb/engine-scenarios.js'
import { stopScenarios } from '../idb/stop-scenarios.js'

// A schema per store on the test server: as apart as a database each.
const pool = testPool({ max: 20 })

/** One schema per scenario's database name (`ferry-engine-<run>-<n>`, `ferry-stop-<run>-<n>`): opened twice, the same schema. */
const schemas = new Map<string, string>()
const schemaOf = (name: string): string => {
  let schema = schemas.get(name)
  if (schema === undefined) schemas.set(name, (schema = freshSchema()))
  return schema
}

storeContract('postgresStore on a PostgreSQL server', () => postgresStore({ pool, schema: freshSchema() }))
engineScenarios('postgresStore on a PostgreSQL server', (name) => postgresStore({ pool, schema: schemaOf(name) }))
stopScenarios('postgresStore on a PostgreSQL server', (name) => postgresStore({ pool, schema: schemaOf(name) }))
