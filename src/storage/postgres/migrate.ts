/**
 * Brings a schema to the version this ferry knows: the migrations it has not had run in one
 * transaction, each recorded in `<schema>.migrations`. Processes that start at once wait for
 * each other on an advisory lock, so each migration runs once; a schema of a newer ferry, or
 * whose `migrations` table is not ferry's record, is refused before anything is changed.
 *
 * @module
 */
import type { Driver, Sql } from './driver.js'
import { schemaNotFerry, schemaTooNew } from './errors.js'
import { MIGRATIONS } from './migrations.js'

/** The columns of ferry's record of migrations, as `format_type` names them. */
const RECORD_COLUMNS = 'version integer, applied_at timestamp with time zone'

/**
 * Of the schema, until its first migration: no table of ferry's means version 0.
 * @throws StorageError of code `SCHEMA_NOT_FERRY` when its `migrations` table is not ferry's
 */
async function version(sql: Sql, schema: string): Promise<number> {
  // Read from the catalog with this statement's snapshot: to_regclass answers from a cache that
  // a transaction which waited for the lock may not have refreshed yet, and would miss the table.
  const [row] = await sql.query<{ columns: string | null }>(
    `SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) AS columns
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = $1 AND c.relname = 'migrations' AND c.relkind IN ('r', 'p')`,
    [schema],
  )
  const columns = row?.columns ?? null
  if (columns === null) return 0
  // An application's own table of that name, in a schema it shares: its numbers are not ferry's.
  if (columns !== RECORD_COLUMNS) throw schemaNotFerry(schema, columns)
  const [max] = await sql.query<{ version: number | null }>(`SELECT max(version) AS version FROM "${schema}"."migrations"`)
  return max?.version ?? 0
}

/**
 * Runs the migrations `schema` has not had.
 * @param schema a validated lowercase identifier
 * @throws StorageError of code `SCHEMA_TOO_NEW` when the schema is newer than this ferry, and of
 * code `SCHEMA_NOT_FERRY` when its `migrations` table is not ferry's; nothing is changed then
 */
export async function migrate(driver: Driver, schema: string, migrations: readonly ((schema: string) => string)[] = MIGRATIONS): Promise<void> {
  // On a server, read first without the lock: a schema that is up to date (every start but
  // the first) needs no transaction and waits for nobody. PGlite runs its one connection's
  // statements in the order they were asked for: one transaction, asked for when the store is
  // made, comes before any transaction the application begins after, which may dispatch.
  if (driver.kind === 'pg') {
    const seen = await version(driver, schema)
    if (seen > migrations.length) throw schemaTooNew(schema, seen, migrations.length)
    if (seen === migrations.length) return
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await migrateLocked(driver, schema, migrations)
      return
    } catch (err) {
      if (attempt >= RACE_RETRIES || !CREATE_RACE.has(sqlState(err) ?? '')) throw err
    }
  }
}

/**
 * Errors of creating a schema another transaction created at the same moment (one outside the
 * lock: the liveness's table creates the schema too): run the migrations again, and find it.
 */
const CREATE_RACE: ReadonlySet<string> = new Set(['23505', '42P06'])
const RACE_RETRIES = 3

function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

async function migrateLocked(driver: Driver, schema: string, migrations: readonly ((schema: string) => string)[]): Promise<void> {
  await driver.transaction(async (sql) => {
    // Released at the end of the transaction: the next process to start finds the migrations done.
    await sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ferry migrate "${schema}"`])
    const current = await version(sql, schema)
    if (current > migrations.length) throw schemaTooNew(schema, current, migrations.length)
    if (current === migrations.length) return
    if (current === 0) {
      await sql.query(
        `CREATE SCHEMA IF NOT EXISTS "${schema}";
        CREATE TABLE IF NOT EXISTS "${schema}"."migrations" (
          version integer PRIMARY KEY,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      )
    }
    for (let v = current; v < migrations.length; v++) {
      await sql.query((migrations[v] as (schema: string) => string)(schema))
      await sql.query(`INSERT INTO "${schema}"."migrations" (version) VALUES ($1)`, [v + 1])
    }
  })
}
