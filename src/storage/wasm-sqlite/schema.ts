/**
 * The schema, as numbered migrations. `PRAGMA user_version` records how many have run; opening
 * a database runs the missing ones in one transaction, and refuses a database written by a
 * newer ferry (a higher version than this code knows) before changing anything in it.
 *
 * Every table is prefixed `ferry_`: applications may keep their own tables in the same file
 * (see transactional enqueue), but must leave `user_version` to ferry.
 *
 * Jobs are rows with a column for each field a query filters or orders on, the payload as JSON,
 * and the rest of the record as JSON in `data`. `seq`, the dispatch order, is the rowid, so
 * every index ends in it and "then dispatch order" costs nothing. Partial indexes keep each
 * hot query away from rows it never wants: a claim reads the waiting index only, never
 * finished or delayed jobs. They also keep each write small: an update rewrites only the
 * indexes whose columns it sets, and of a partial index only the entries the row enters or
 * leaves, so a job's turn through the engine touches a few index pages, not all of them.
 *
 * @module
 */
import type { Database } from '@sqlite.org/sqlite-wasm'
import { StorageError } from '../../core/errors.js'

/** Migration n (1-based) brings a database from user_version n - 1 to n. Never edit one. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE ferry_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO ferry_meta (key, value) VALUES ('seq', 0);

  CREATE TABLE ferry_jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    type TEXT NOT NULL,
    state TEXT NOT NULL,
    priority NUMERIC NOT NULL,
    run_at NUMERIC NOT NULL,
    created_at NUMERIC NOT NULL,
    finished_at NUMERIC,
    lease_owner TEXT,
    lease_token TEXT,
    lease_until NUMERIC,
    unique_key TEXT,
    unique_until NUMERIC,
    chain_id TEXT,
    batch_id TEXT,
    payload TEXT,
    data TEXT NOT NULL
  );
  CREATE INDEX ferry_jobs_waiting ON ferry_jobs (queue, type, priority DESC, run_at, seq) WHERE state = 'waiting';
  CREATE INDEX ferry_jobs_delayed ON ferry_jobs (queue, run_at, seq) WHERE state = 'delayed';
  CREATE INDEX ferry_jobs_active ON ferry_jobs (lease_until) WHERE state = 'active';
  CREATE INDEX ferry_jobs_finished ON ferry_jobs (finished_at)
    WHERE finished_at IS NOT NULL AND chain_id IS NULL AND batch_id IS NULL;
  CREATE INDEX ferry_jobs_unique ON ferry_jobs (unique_key, unique_until) WHERE unique_key IS NOT NULL;
  CREATE INDEX ferry_jobs_chain ON ferry_jobs (chain_id) WHERE chain_id IS NOT NULL;
  CREATE INDEX ferry_jobs_batch ON ferry_jobs (batch_id) WHERE batch_id IS NOT NULL;
  CREATE INDEX ferry_jobs_state ON ferry_jobs (state);

  CREATE TABLE ferry_chains (id TEXT PRIMARY KEY, state TEXT NOT NULL, finished_at NUMERIC, data TEXT NOT NULL);
  CREATE INDEX ferry_chains_finished ON ferry_chains (finished_at) WHERE finished_at IS NOT NULL;
  CREATE TABLE ferry_batches (id TEXT PRIMARY KEY, state TEXT NOT NULL, finished_at NUMERIC, data TEXT NOT NULL);
  CREATE INDEX ferry_batches_finished ON ferry_batches (finished_at) WHERE finished_at IS NOT NULL;

  CREATE TABLE ferry_schedules (name TEXT PRIMARY KEY, next_run_at NUMERIC NOT NULL, data TEXT NOT NULL);
  CREATE INDEX ferry_schedules_next ON ferry_schedules (next_run_at);
  `,
  // Active jobs leave the state index: every job passes through active, and its two entries
  // there (in at the claim, out at the settle) were a page written by every commit of an engine
  // for nothing. Active jobs are few, and counted and listed through ferry_jobs_active.
  `
  DROP INDEX ferry_jobs_state;
  CREATE INDEX ferry_jobs_state_inactive ON ferry_jobs (state) WHERE state <> 'active';
  `,
  // Retention reads the finished jobs of one state in the order they finished, from either end
  // (the oldest, or those past the newest it keeps), chains' and batches' jobs included. Only
  // finished jobs have a finished_at: the index holds nothing else.
  `
  CREATE INDEX ferry_jobs_retain ON ferry_jobs (state, finished_at) WHERE finished_at IS NOT NULL;
  `,
  // Retention looks at the queues of the engine that applies it, never at other queues: it
  // reads, and counts, the finished jobs of one queue and state. The index leads with the queue.
  `
  DROP INDEX ferry_jobs_retain;
  CREATE INDEX ferry_jobs_retain_queue ON ferry_jobs (queue, state, finished_at) WHERE finished_at IS NOT NULL;
  `,
  // The 'runAt' claim order (the earliest ready time first, then priority, then dispatch order)
  // reads an index of its own, as the default order reads ferry_jobs_waiting. The versions that
  // dispatched a job and ran its last attempt are columns, read by listJobs({ version }) without
  // parsing the data; they are in no index (a claim would write one more entry per job), so a
  // filter by version alone reads the jobs in dispatch order until it has a page: at worst every
  // job. Rows written before keep NULL in both: no version.
  `
  CREATE INDEX ferry_jobs_waiting_run_at ON ferry_jobs (queue, type, run_at, priority DESC, seq) WHERE state = 'waiting';
  ALTER TABLE ferry_jobs ADD COLUMN dispatched_by TEXT;
  ALTER TABLE ferry_jobs ADD COLUMN processed_by TEXT;
  `,
]

/** The error of a database written by a newer version of ferry. */
export const SCHEMA_TOO_NEW = 'SCHEMA_TOO_NEW'

export function schemaVersion(db: Database): number {
  return Number(db.selectValue('PRAGMA user_version') ?? 0)
}

/** Throws, changing nothing, when the database is newer than this code. */
export function assertKnownVersion(db: Database, where: string): void {
  const version = schemaVersion(db)
  if (version > MIGRATIONS.length) {
    throw new StorageError(
      `${where} has schema version ${version}, newer than this version of ferry knows (${MIGRATIONS.length}): ` +
        'upgrade ferry to open it',
      { code: SCHEMA_TOO_NEW },
    )
  }
}

/** Runs the migrations the database has not had, all in one transaction. */
export function migrate(db: Database, where: string): void {
  assertKnownVersion(db, where)
  if (schemaVersion(db) === MIGRATIONS.length) return
  db.exec('BEGIN IMMEDIATE')
  try {
    // Read again inside the transaction: the version is what this transaction will change.
    for (let v = schemaVersion(db); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string)
      db.exec(`PRAGMA user_version = ${v + 1}`)
    }
    db.exec('COMMIT')
  } catch (err) {
    try {
      db.exec('ROLLBACK')
    } catch {
      // SQLite rolled back already (a full disk, an I/O error).
    }
    throw err
  }
}
