/**
 * Every query the SQLite store runs, prepared once per connection and reset after each use.
 * Those whose shape depends on their input (`listJobs` by its filter, an update by the columns
 * it sets) are prepared on first use and cached by their SQL.
 *
 * @module
 */
import type { Database, PreparedStatement, SqlValue, Sqlite3Static } from '@sqlite.org/sqlite-wasm'
import { StorageError } from '../../core/errors.js'
import type { Counts, JobFilter, JobState } from '../../core/types.js'
import { Binding } from './binding.js'
import { JOB_COLUMNS, JOB_SELECT } from './rows.js'

type Bind = readonly SqlValue[]

const JOBS = `SELECT ${JOB_SELECT} FROM ferry_jobs`
const IN_JSON = (column: string, n: number): string => `${column} IN (SELECT value FROM json_each(?${n}))`

/** Every statement, by name (exported for tests that check query plans). */
export const SQL = {
  getJob: `${JOBS} WHERE id = ?`,
  putJob:
    `INSERT INTO ferry_jobs (${JOB_SELECT}) VALUES (${JOB_COLUMNS.map(() => '?').join(', ')}) ` +
    `ON CONFLICT (id) DO UPDATE SET ${JOB_COLUMNS.filter((c) => c !== 'id')
      .map((c) => `${c} = excluded.${c}`)
      .join(', ')}`,
  deleteJob: 'DELETE FROM ferry_jobs WHERE id = ?',
  findUnique: `${JOBS} WHERE unique_key = ? AND unique_until > ? LIMIT 1`,
  /** One (queue, type) at a time: an index range read in claim order, no sort. */
  ready: `${JOBS} WHERE state = 'waiting' AND queue = ? AND type = ? ORDER BY priority DESC, run_at, seq LIMIT ?`,
  /** The 'runAt' claim order, from its own index (ferry_jobs_waiting_run_at): no sort. */
  readyRunAt: `${JOBS} WHERE state = 'waiting' AND queue = ? AND type = ? ORDER BY run_at, priority DESC, seq LIMIT ?`,
  due: `${JOBS} WHERE state = 'delayed' AND queue = ? AND run_at <= ? ORDER BY run_at, seq LIMIT ?`,
  // A run_at that is text (a row changed by hand) sorts after every number: such a job is due
  // at once, so that it is claimed and failed as damaged instead of waiting for ever.
  dueText: `${JOBS} WHERE state = 'delayed' AND queue = ? AND run_at >= '' ORDER BY run_at, seq LIMIT ?`,
  // Numbers only: text sorts after them (`< ''`), and is due at once (`dueText`).
  nextDue: `SELECT MIN(run_at) FROM ferry_jobs WHERE state = 'delayed' AND queue = ? AND run_at < ''`,
  // A walk of the lease index, earliest first, that stops at the first lease still running.
  // INDEXED BY: the planner would take the state index, which reads every active job.
  expired:
    `SELECT ${JOB_SELECT} FROM ferry_jobs INDEXED BY ferry_jobs_active WHERE state = 'active' AND lease_until <= ?1 ` +
    `AND ${IN_JSON('queue', 2)} AND ${IN_JSON('type', 3)} ORDER BY lease_until LIMIT ?4`,
  // With the engines alive: every active job of the scope is read (they are few), and those of
  // a dead owner that started before ?6 are taken with the expired ones.
  expiredOrDead:
    `SELECT ${JOB_SELECT} FROM ferry_jobs INDEXED BY ferry_jobs_active WHERE state = 'active' ` +
    `AND ${IN_JSON('queue', 2)} AND ${IN_JSON('type', 3)} AND (lease_until <= ?1 OR ` +
    `(lease_owner NOT IN (SELECT value FROM json_each(?5)) AND json_extract(data, '$.startedAt') < ?6)) ` +
    'ORDER BY lease_until LIMIT ?4',
  nextExpiry:
    `SELECT MIN(lease_until) FROM ferry_jobs INDEXED BY ferry_jobs_active WHERE state = 'active' AND lease_until > ?1 ` +
    `AND ${IN_JSON('queue', 2)} AND ${IN_JSON('type', 3)}`,
  // Active jobs are not in the state index: they are counted from their own.
  counts: "SELECT state, COUNT(*) FROM ferry_jobs WHERE state <> 'active' GROUP BY state",
  activeCount: "SELECT COUNT(*) FROM ferry_jobs WHERE state = 'active'",
  dueCount: `SELECT COUNT(*) FROM ferry_jobs WHERE state = 'delayed' AND run_at <= ?`,
  finishedBefore:
    `${JOBS} WHERE finished_at IS NOT NULL AND chain_id IS NULL AND batch_id IS NULL AND finished_at < ? ` +
    'ORDER BY finished_at LIMIT ?',
  // Retention: finished jobs of queue ?5 and state ?1 with finished_at < ?2, skipping ?4, at most
  // ?3, from the retain index (queue, state, finished_at, seq) read forwards or backwards: no sort.
  finishedOldest:
    `SELECT ${JOB_SELECT} FROM ferry_jobs INDEXED BY ferry_jobs_retain_queue WHERE queue = ?5 AND state = ?1 ` +
    'AND finished_at IS NOT NULL AND finished_at < ?2 ORDER BY finished_at, seq LIMIT ?3 OFFSET ?4',
  finishedNewest:
    `SELECT ${JOB_SELECT} FROM ferry_jobs INDEXED BY ferry_jobs_retain_queue WHERE queue = ?5 AND state = ?1 ` +
    'AND finished_at IS NOT NULL AND finished_at < ?2 ORDER BY finished_at DESC, seq DESC LIMIT ?3 OFFSET ?4',
  finishedCount:
    'SELECT count(*) FROM ferry_jobs INDEXED BY ferry_jobs_retain_queue WHERE queue = ?1 AND state = ?2 AND finished_at IS NOT NULL',
  /** Reserves ?1 numbers, returns the first. */
  nextSeq: `UPDATE ferry_meta SET value = value + ?1 WHERE key = 'seq' RETURNING value - ?1 + 1`,
  /** The batch index holds (batch_id, seq): read in dispatch order, no sort. */
  batchJobIds: 'SELECT id FROM ferry_jobs WHERE batch_id = ? ORDER BY seq',

  getChain: 'SELECT id, state, finished_at, data FROM ferry_chains WHERE id = ?',
  putChain: 'INSERT OR REPLACE INTO ferry_chains (id, state, finished_at, data) VALUES (?, ?, ?, ?)',
  deleteChain: 'DELETE FROM ferry_chains WHERE id = ?',
  chainsFinishedBefore: 'SELECT id, state, finished_at, data FROM ferry_chains WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?',
  // Prune looks for damaged groups among those not finished: the whole table is read.
  chainsUnfinished: 'SELECT id, state, finished_at, data FROM ferry_chains WHERE finished_at IS NULL',
  getBatch: 'SELECT id, state, finished_at, data FROM ferry_batches WHERE id = ?',
  putBatch: 'INSERT OR REPLACE INTO ferry_batches (id, state, finished_at, data) VALUES (?, ?, ?, ?)',
  deleteBatch: 'DELETE FROM ferry_batches WHERE id = ?',
  batchesFinishedBefore: 'SELECT id, state, finished_at, data FROM ferry_batches WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?',

  batchesUnfinished: 'SELECT id, state, finished_at, data FROM ferry_batches WHERE finished_at IS NULL',

  getSchedule: 'SELECT name, next_run_at, data FROM ferry_schedules WHERE name = ?',
  listSchedules: 'SELECT name, next_run_at, data FROM ferry_schedules ORDER BY name',
  dueSchedules: 'SELECT name, next_run_at, data FROM ferry_schedules WHERE next_run_at <= ? ORDER BY next_run_at LIMIT ?',
  // Numbers only: a schedule whose next run is text is damaged and never fires.
  nextScheduleAt: "SELECT MIN(next_run_at) FROM ferry_schedules WHERE next_run_at < ''",
  putSchedule: 'INSERT OR REPLACE INTO ferry_schedules (name, next_run_at, data) VALUES (?, ?, ?)',
  deleteSchedule: 'DELETE FROM ferry_schedules WHERE name = ?',

  // Prepared once: db.exec would parse and prepare them again at every transaction.
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: 'SAVEPOINT ferry_write',
  release: 'RELEASE ferry_write',
  rollbackTo: 'ROLLBACK TO ferry_write',
} as const

export type StatementName = keyof typeof SQL

const STATES: ReadonlySet<string> = new Set<JobState>(['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled'])

/**
 * The query of `listJobs`, and its bindings. A state filter matches the state users see: `waiting`
 * is the stored waiting jobs and the delayed ones already due, `delayed` the others. Each stored
 * state is one arm, read from the state index in dispatch order, and SQLite merges the arms
 * (`MERGE (UNION ALL)`) and stops after `offset + limit` rows: nothing is sorted. A version
 * (`dispatched_by` or `processed_by`) is in no index: its filter skips the rows of other versions
 * as it reads, so with no other filter it may read every job to fill a page.
 */
export function listJobsQuery(f: JobFilter, now: number): { sql: string; bind: SqlValue[] } | undefined {
  const bind: SqlValue[] = []
  const param = (v: SqlValue): string => {
    bind.push(v)
    return `?${bind.length}`
  }
  const common: string[] = []
  const match = (column: string, want: string | string[] | undefined): void => {
    if (want === undefined) return
    common.push(Array.isArray(want) ? `${column} IN (SELECT value FROM json_each(${param(JSON.stringify(want))}))` : `${column} = ${param(want)}`)
  }
  match('type', f.type)
  match('queue', f.queue)
  match('batch_id', f.batchId)
  match('chain_id', f.chainId)
  // In no index: the arms below are read in dispatch order and these rows skipped.
  if (f.version !== undefined) {
    const v = param(f.version)
    common.push(`(dispatched_by = ${v} OR processed_by = ${v})`)
  }
  let arms: string[][] = [[]]
  if (f.state !== undefined) {
    arms = []
    let at: string | undefined
    const nowParam = (): string => (at ??= param(now))
    for (const state of new Set([f.state].flat())) {
      if (state === 'waiting') arms.push(["state = 'waiting'"], ["state = 'delayed'", `run_at <= ${nowParam()}`])
      else if (state === 'delayed') arms.push(["state = 'delayed'", `run_at > ${nowParam()}`])
      // A state no job has matches nothing, as in every store.
      else if (STATES.has(state)) arms.push([`state = '${state}'`])
    }
    if (arms.length === 0) return undefined
  }
  // Without statistics the planner walks the table in seq order instead, through every older
  // job. A batch or chain is read from its own index, in seq order too.
  const byGroup = f.batchId !== undefined || f.chainId !== undefined
  const selects = arms.map((arm) => {
    const where = [...arm, ...common]
    let from = 'ferry_jobs'
    if (!byGroup && arm[0] === "state = 'active'") from += ' INDEXED BY ferry_jobs_active'
    else if (!byGroup && arm[0] !== undefined) {
      from += ' INDEXED BY ferry_jobs_state_inactive'
      where.push("state <> 'active'")
    }
    return `SELECT ${JOB_SELECT} FROM ${from}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`
  })
  const sql = `${selects.join(' UNION ALL ')} ORDER BY seq LIMIT ${param(f.limit ?? 100)} OFFSET ${param(f.offset ?? 0)}`
  return { sql, bind }
}

export class Statements {
  readonly #db: Database
  readonly #b: Binding
  readonly #prepared = new Map<string, PreparedStatement>()
  /**
   * While a write runs: the first error of one of its statements. Core issues a write's
   * statements together, and SQLite may have rolled the whole transaction back on that error
   * (a full disk, an I/O error, out of memory): the statements after it would then run outside
   * it, each committed on its own. So once one fails, the others of the write are refused.
   */
  #write: { failed?: unknown } | undefined

  constructor(sqlite3: Sqlite3Static, db: Database) {
    this.#db = db
    this.#b = new Binding(sqlite3, db)
    for (const sql of Object.values(SQL)) this.#prepare(sql)
  }

  /** A write begins (inside its transaction or savepoint): see `#write`. */
  beginWrite(): void {
    this.#write = {}
  }

  endWrite(): void {
    this.#write = undefined
  }

  /** Runs a transaction's own statement (begin, commit, rollback, savepoints): never refused. */
  control(name: 'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo'): void {
    const stmt = this.#prepare(SQL[name])
    try {
      this.#b.step(stmt)
    } finally {
      this.#b.reset(stmt)
    }
  }

  /** Every row of statement `name` with these bindings, each mapped by `map`. */
  all<T>(name: StatementName, bind: Bind, map: (row: SqlValue[]) => T): T[] {
    return this.#all(this.#prepare(SQL[name]), bind, map)
  }

  first<T>(name: StatementName, bind: Bind, map: (row: SqlValue[]) => T): T | undefined {
    const stmt = this.#prepare(SQL[name])
    const b = this.#b
    this.#allowed()
    try {
      if (bind.length > 0) b.bind(stmt, bind)
      return b.step(stmt) ? map(b.row(stmt)) : undefined
    } catch (err) {
      this.#failed(err)
      throw err
    } finally {
      b.reset(stmt)
    }
  }

  /** The first column of the first row, or undefined when it is NULL or there is none. */
  value(name: StatementName, bind: Bind): number | undefined {
    const v = this.first(name, bind, (r) => r[0])
    return v === null || v === undefined ? undefined : Number(v)
  }

  run(name: StatementName, bind: Bind = []): void {
    this.#run(this.#prepare(SQL[name]), bind)
  }

  counts(dueBy: number): Counts {
    const c: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }
    for (const [state, n] of this.all('counts', [], (r) => [r[0] as JobState, Number(r[1])] as const)) c[state] = n
    c.active = this.value('activeCount', []) ?? 0
    const due = this.value('dueCount', [dueBy]) ?? 0
    c.waiting += due
    c.delayed -= due
    return c
  }

  /** Jobs matching the filter in dispatch order: see `listJobsQuery`. */
  listJobs<T>(f: JobFilter, now: number, map: (row: SqlValue[]) => T): T[] {
    const q = listJobsQuery(f, now)
    return q ? this.#all(this.#prepare(q.sql), q.bind, map) : []
  }

  /** Runs SQL prepared on first use and kept, such as an update of some columns. */
  runSql(sql: string, bind: Bind): void {
    this.#run(this.#prepare(sql), bind)
  }

  finalize(): void {
    for (const stmt of this.#prepared.values()) stmt.finalize()
    this.#prepared.clear()
    this.#b.dispose()
  }

  #prepare(sql: string): PreparedStatement {
    let stmt = this.#prepared.get(sql)
    if (!stmt) this.#prepared.set(sql, (stmt = this.#db.prepare(sql)))
    return stmt
  }

  #run(stmt: PreparedStatement, bind: Bind): void {
    const b = this.#b
    this.#allowed()
    try {
      if (bind.length > 0) b.bind(stmt, bind)
      b.step(stmt)
    } catch (err) {
      this.#failed(err)
      throw err
    } finally {
      b.reset(stmt)
    }
  }

  #all<T>(stmt: PreparedStatement, bind: Bind, map: (row: SqlValue[]) => T): T[] {
    const b = this.#b
    this.#allowed()
    try {
      if (bind.length > 0) b.bind(stmt, bind)
      const out: T[] = []
      while (b.step(stmt)) out.push(map(b.row(stmt)))
      return out
    } catch (err) {
      this.#failed(err)
      throw err
    } finally {
      b.reset(stmt)
    }
  }

  #allowed(): void {
    const w = this.#write
    if (w && 'failed' in w) {
      throw new StorageError('an earlier statement of this write failed, so the rest of it does not run', { cause: w.failed })
    }
  }

  #failed(err: unknown): void {
    if (this.#write && !('failed' in this.#write)) this.#write.failed = err
  }
}
