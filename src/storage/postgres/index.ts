/**
 * `ferry/postgres`: the Store over PostgreSQL, through the application's node-postgres
 * `pg.Pool` or a PGlite instance. ferry imports neither: it uses the one it is given.
 *
 * @module ferry/postgres
 */
export { postgresStore } from './store.js'
export type { PostgresStore, PostgresStoreOptions } from './store.js'
export type { PgClientLike, PgOwnClientLike, PgPoolClientLike, PgPoolLike } from './driver-pg.js'
export type { PGliteLike, PGliteTransactionLike } from './driver-pglite.js'
export { SCHEMA_NOT_FERRY, SCHEMA_TOO_NEW } from './errors.js'
