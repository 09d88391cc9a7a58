/**
 * The Postgres subjects' names and rows, apart from the code that runs them.
 *
 * @module
 */

export const FERRY_POSTGRES = 'ferry · Postgres'
export const GRAPHILE_WORKER = 'graphile-worker 0.18 (defaults)'
export const GRAPHILE_WORKER_BATCHED = 'graphile-worker 0.18 (localQueue 32, batched completions)'
export const PG_BOSS = 'pg-boss 12.38 (LISTEN/NOTIFY, batches of 16)'

/** The subjects `npm run bench -- postgres` runs, in run order. */
export const POSTGRES_GROUP = ['ferry:postgres', 'graphile-worker', 'graphile-worker:batched', 'pg-boss'] as const
