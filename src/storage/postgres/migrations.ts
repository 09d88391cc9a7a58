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
 * Two functions save round trips and locks. `next_seq(n)` reserves n consecutive dispatch
 * numbers from a sequence under a session advisory lock held only while it runs, so that
 * concurrent reservations never interleave, and no lock is held until the transaction ends (a
 * counter row would be, queueing every dispatch of every process behind the one before).
 * `jobs_locked(ids)` reads and locks the jobs of these ids, locks the hashes of the ids not
 * found (see `backend.ts`) and reads those again, each statement with a snapshot of its own: what
 * took three statements is one.
 *
 * Partial indexes keep each hot query away from rows it never wants, and keep each write small:
 * an update adds an entry to a partial index only when the new row is in it, so claiming a job
 * (waiting to active) writes no entry in the waiting, delayed or finished indexes. Listings read
 * the state index in dispatch order, one range per state: there is no index of `seq` alone,
 * which the planner would walk through every job to find the few of a rare state.
 *
 * @module
 */

/**
 * Past this many ids not found at once, a write locks the insertion of their kind as a whole
 * instead of each id: the server's lock table is shared by every connection and sized for some
 * thousands of locks.
 */
export const MANY = 1000

/** Migration n (1-based) brings a database from version n - 1 to n. Never edit one. */
export const MIGRATIONS: readonly ((schema: string) => string)[] = [
  (schema) => {
    const s = `"${schema}"`
    return `
  CREATE SEQUENCE ${s}."seq" AS bigint;

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

  CREATE FUNCTION ${s}."next_seq"(n bigint) RETURNS bigint LANGUAGE plpgsql AS $f$
  DECLARE
    first bigint;
  BEGIN
    PERFORM pg_advisory_lock(hashtextextended('${schema}:seq', 0));
    BEGIN
      first := nextval('${s}."seq"');
      IF n > 1 THEN
        PERFORM setval('${s}."seq"', first + n - 1);
      END IF;
    EXCEPTION WHEN OTHERS OR QUERY_CANCELED THEN
      PERFORM pg_advisory_unlock(hashtextextended('${schema}:seq', 0));
      RAISE;
    END;
    PERFORM pg_advisory_unlock(hashtextextended('${schema}:seq', 0));
    RETURN first;
  END
  $f$;

  CREATE FUNCTION ${s}."jobs_locked"(ids text[]) RETURNS SETOF ${s}."jobs" LANGUAGE plpgsql AS $f$
  DECLARE
    r ${s}."jobs";
    found text[] := '{}';
    missing text[];
  BEGIN
    FOR r IN SELECT * FROM ${s}."jobs" WHERE id = ANY(ids) ORDER BY id FOR UPDATE LOOP
      found := found || r.id;
      RETURN NEXT r;
    END LOOP;
    SELECT array_agg(k ORDER BY k) INTO missing FROM (SELECT unnest(ids) EXCEPT SELECT unnest(found)) AS m(k);
    IF missing IS NULL THEN
      RETURN;
    END IF;
    IF cardinality(missing) > ${MANY} THEN
      PERFORM pg_advisory_xact_lock(hashtextextended('${schema}:jobs:*', 0));
    ELSE
      PERFORM pg_advisory_xact_lock_shared(hashtextextended('${schema}:jobs:*', 0));
      PERFORM pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended('${schema}:jobs:' || k, 0) AS h FROM unnest(missing) AS k ORDER BY 1) AS keys;
    END IF;
    RETURN QUERY SELECT * FROM ${s}."jobs" WHERE id = ANY(missing) ORDER BY id FOR UPDATE;
  END
  $f$;
  `
  },
]
