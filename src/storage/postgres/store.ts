/**
 * `postgresStore`: the Store over PostgreSQL, through the application's node-postgres `pg.Pool`
 * or a PGlite instance. `defineStore` makes it of three parts: the backend (SQL reads and
 * writes), notifications (`LISTEN`/`NOTIFY`, so that processes wake each other) and, on a
 * server, liveness (an advisory lock per engine, so that a dead process's jobs are taken over
 * at once).
 *
 * @module
 */
import { defineStore } from '../../core/define-store.js'
import { InvalidArgumentError, QueueClosedError } from '../../core/errors.js'
import type { Store } from '../../core/store.js'
import { PostgresBackend, storageError } from './backend.js'
import type { Driver } from './driver.js'
import { isPgPool, pgDriver, type PgPoolLike } from './driver-pg.js'
import { isPGlite, pgliteDriver, type PGliteLike } from './driver-pglite.js'
import { migrate } from './migrate.js'
import { serverClock } from './clock.js'
import { postgresLiveness } from './liveness.js'
import { notifications } from './notify.js'

export interface PostgresStoreOptions {
  /**
   * Where the store's tables are: a node-postgres `pg.Pool`, or a PGlite instance
   * (`@electric-sql/pglite`). It never ends the pool.
   *
   * On a `pg.Pool` the store opens these connections:
   * - one of the pool's clients per transaction (a turn of an engine, a dispatch, a read),
   *   given back when the transaction ends: it never holds one while it waits, so a pool of
   *   any `max`, 1 included, serves the store and the application;
   * - one connection of its own, outside the pool's `max`, made like the pool's clients
   *   (`new pool.Client(pool.options)`, so the pool's `'connect'` listeners do not see it):
   *   it `LISTEN`s for other processes' notifications, holds the engines' advisory locks
   *   (liveness), and hears the commit of an application's transaction a `{ tx }` write joined.
   *   It is open while one of these needs it and closed by `close`; it reconnects when it drops.
   *   A pool without `Client` and `options` (not a `pg.Pool`, a wrapper of one) lends one of its
   *   clients for it instead, held while it is open: give such a pool a `max` of at least 2 per store.
   *
   * Errors of the store's own connection are the store's to handle; the pool still needs the
   * application's `pool.on('error', …)` for its idle clients, as any `pg.Pool` does.
   *
   * @example
   * import pg from 'pg'
   * const store = postgresStore({ pool: new pg.Pool({ connectionString, keepAlive: true }) })
   */
  pool: PgPoolLike | PGliteLike
  /**
   * The Postgres schema (namespace) of the store's tables, created if missing. Stores on one
   * database with different schemas are apart: their jobs, and their notifications.
   * A lowercase identifier (`^[a-z_][a-z0-9_]{0,62}$`), not one Postgres reserves (`pg_…`,
   * `information_schema`).
   * @default 'ferry'
   */
  schema?: string
}

export interface PostgresStore extends Store {
  /**
   * Resolves once the schema is migrated (the store starts when it is made). Rejects with a
   * `StorageError` of code `SCHEMA_TOO_NEW` for a schema of a newer ferry, and of code
   * `SCHEMA_NOT_FERRY` for a schema whose `migrations` table is not ferry's, changing nothing,
   * and with the connection's error when the database cannot be reached (a later call tries
   * again).
   */
  open(): Promise<void>
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/

/** The driver for what was given as `pool`. */
function driverOf(pool: unknown): Driver {
  // A PGlite instance has `query` too: ask for what only it has first.
  if (isPGlite(pool)) return pgliteDriver(pool)
  if (isPgPool(pool)) return pgDriver(pool)
  throw new InvalidArgumentError(
    'postgresStore: pool must be a pg.Pool of node-postgres or a PGlite instance' +
      (pool === undefined ? '' : `, got ${typeof pool === 'object' && pool !== null ? (pool.constructor?.name ?? 'an object') : typeof pool}`),
  )
}

/**
 * A Store in a PostgreSQL database: several processes may share it.
 * @throws InvalidArgumentError when `pool` is neither a `pg.Pool` nor a PGlite instance, or
 * `schema` is not a lowercase identifier or is one Postgres reserves
 * @example
 * const queue = createQueue({ store: postgresStore({ pool }) })
 * // In the application's transaction: the job commits, or not, with its work.
 * const client = await pool.connect()
 * await client.query('BEGIN')
 * await client.query('INSERT INTO orders (id) VALUES ($1)', [id])
 * await queue.dispatch(job('order:confirm', { id }), { tx: client })
 * await client.query('COMMIT')
 * client.release()
 */
export function postgresStore(o: PostgresStoreOptions): PostgresStore {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('postgresStore: options must be an object with a pool')
  const schema = o.schema ?? 'ferry'
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw new InvalidArgumentError(`postgresStore: schema must be a lowercase identifier (${SCHEMA.source}), got ${JSON.stringify(schema)}`)
  }
  if (schema.startsWith('pg_') || schema === 'information_schema') {
    throw new InvalidArgumentError(`postgresStore: schema ${JSON.stringify(schema)} is reserved by Postgres (pg_… and information_schema): choose another name`)
  }
  const driver = driverOf(o.pool)
  // Engines in processes on several machines compare each other's lease ends: all take the server's time.
  const clock = serverClock({ driver })

  let migrated: Promise<void> | undefined
  const ready = (): Promise<void> => {
    migrated ??= Promise.all([migrate(driver, schema), clock.sync()]).then(() => undefined).catch((err: unknown) => {
      // Tried again by the next call: a server that was not up yet may be now.
      migrated = undefined
      throw err
    })
    return migrated
  }
  // Migrate at once: on PGlite, a migration asked for only once the application's transaction
  // dispatches would wait for that transaction to end, and it for the dispatch. A failure is
  // the first call's to tell.
  ready().catch(() => undefined)
  const share = notifications({ driver, schema })
  const backend = new PostgresBackend({ driver, schema, ready, share })
  // On a server an engine's advisory lock ends with its connection, so a dead process's jobs
  // are taken over at once. PGlite has one connection, shared by every engine on it: leases
  // expire instead.
  // Nothing of it runs before the migrations succeeded: a schema of a newer ferry is never changed.
  const livenessReady = (): Promise<void> =>
    ready().catch((err: unknown) => {
      throw storageError(err, `the Postgres store (schema "${schema}")`)
    })
  const liveness = driver.kind === 'pg' ? postgresLiveness({ driver, schema, ready: livenessReady }) : undefined
  const store = defineStore(backend, { ...(liveness ? { liveness } : {}), clock })
  const closeStore = store.close.bind(store)
  let closed = false
  // Added to the store itself, not to a copy: the store stays the one defineStore knows.
  const extra: Pick<PostgresStore, 'open' | 'close'> = {
    open: async () => {
      if (closed) throw new QueueClosedError('the store is closed')
      await ready().catch((err: unknown) => {
        throw storageError(err, `the Postgres store (schema "${schema}")`)
      })
    },
    close: async () => {
      closed = true
      await closeStore()
      // Nothing of the store's runs on the pool once close resolved.
      await migrated?.catch(() => undefined)
      await liveness?.close()
      clock.close()
      await share.close()
      await driver.close()
    },
  }
  return Object.assign(store, extra)
}
