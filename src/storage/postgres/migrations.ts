/**
 * The schema, as numbered migrations: migration n (1-based) brings a database from version
 * n - 1 to n. `migrate.ts` runs the missing ones and records each in `<schema>.migrations`.
 * Each is a function of the schema's name, already validated as a lowercase identifier, and
 * names every table schema-qualified and quoted. Never edit one after it shipped.
 *
 * Jobs are rows with a column for each field a query filters or orders on, the payload as
 * JSON, and the rest of the record as JSON in `data`. Both are `json`, not `jsonb`: `json`
 * keeps the text as written (`jsonb` refuses `\u0000` in a string, and reorders keys), and the
 * store never queries inside them. Times are epoch milliseconds in `double precision`, which
 * node-postgres and PGlite both return as JavaScript numbers; `seq` is a `bigint`, read with
 * `Number()` (node-postgres returns a string for it).
 *
 * Partial indexes keep each hot query away from rows it never wants, and keep each write small:
 * an update adds an entry to a partial index only when the new row is in it, so claiming a job
 * (waiting to active) writes no entry in the waiting, delayed or finished indexes. Listings read
 * the state index in dispatch order, one range per state: there is no index of `seq` alone,
 * which the planner would walk through every job to find the few of a rare state.
 *
 * @module
 */

/** Migration n (1-based) brings a database from version n - 1 to n. Never edit one. */
export const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (schema) => {
    const s = `"${schema}"`
    return `
  CREATE TABLE ${s}."counters" (name text PRIMARY KEY, value bigint NOT NULL);
  INSERT INTO ${s}."counters" (name, value) VALUES ('seq', 0);

  CREATE TABLE ${s}."jobs" (
    id text PRIMARY KEY,
    seq bigint NOT NULL,
    queue text NOT NULL,
    type text NOT NULL,
    state text NOT NULL,
    priority double precision NOT NULL,
    run_at double precision NOT NULL,
    created_at double precision NOT NULL,
    started_at double precision,
    finished_at double precision,
    lease_owner text,
    lease_token text,
    lease_until double precision,
    unique_key text,
    unique_until double precision,
    chain_id text,
    batch_id text,
    dispatched_by text,
    processed_by text,
    payload json,
    data json NOT NULL
  );
  CREATE INDEX "jobs_waiting" ON ${s}."jobs" (queue, type, priority DESC, run_at, seq) WHERE state = 'waiting';
  CREATE INDEX "jobs_waiting_run_at" ON ${s}."jobs" (queue, type, run_at, priority DESC, seq) WHERE state = 'waiting';
  CREATE INDEX "jobs_delayed" ON ${s}."jobs" (queue, run_at, seq) WHERE state = 'delayed';
  CREATE INDEX "jobs_active" ON ${s}."jobs" (lease_until) WHERE state = 'active';
  CREATE INDEX "jobs_state" ON ${s}."jobs" (state, seq);
  CREATE INDEX "jobs_finished" ON ${s}."jobs" (queue, state, finished_at, seq) WHERE finished_at IS NOT NULL;
  CREATE INDEX "jobs_prunable" ON ${s}."jobs" (finished_at)
    WHERE finished_at IS NOT NULL AND chain_id IS NULL AND batch_id IS NULL;
  CREATE INDEX "jobs_unique" ON ${s}."jobs" (unique_key, unique_until) WHERE unique_key IS NOT NULL;
  CREATE INDEX "jobs_chain" ON ${s}."jobs" (chain_id, seq) WHERE chain_id IS NOT NULL;
  CREATE INDEX "jobs_batch" ON ${s}."jobs" (batch_id, seq) WHERE batch_id IS NOT NULL;
  CREATE INDEX "jobs_dispatched_by" ON ${s}."jobs" (dispatched_by, seq) WHERE dispatched_by IS NOT NULL;
  CREATE INDEX "jobs_processed_by" ON ${s}."jobs" (processed_by, seq) WHERE processed_by IS NOT NULL;

  CREATE TABLE ${s}."chains" (id text PRIMARY KEY, state text NOT NULL, finished_at double precision, data json NOT NULL);
  CREATE INDEX "chains_finished" ON ${s}."chains" (finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE ${s}."batches" (id text PRIMARY KEY, state text NOT NULL, finished_at double precision, data json NOT NULL);
  CREATE INDEX "batches_finished" ON ${s}."batches" (finished_at) WHERE finished_at IS NOT NULL;

  CREATE TABLE ${s}."schedules" (name text PRIMARY KEY, next_run_at double precision NOT NULL, data json NOT NULL);
  CREATE INDEX "schedules_next" ON ${s}."schedules" (next_run_at);
  `
  },
]
