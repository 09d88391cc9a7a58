/**
 * Every query the SQLite store runs, prepared once per connection and reset after each use.
 * The few whose shape depends on a filter (`listJobs`) are prepared on first use and cached
 * by their SQL.
 *
 * @module
 */
import type { Database, PreparedStatement, SqlValue } from '@sqlite.org/sqlite-wasm'

type Bind = readonly SqlValue[]
import type { Counts, JobFilter, JobState } from '../../core/types.js'
import { JOB_COLUMNS, JOB_SELECT } from './rows.js'

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
  due: `${JOBS} WHERE state = 'delayed' AND queue = ? AND run_at <= ? ORDER BY run_at, seq LIMIT ?`,
  nextDue: `SELECT MIN(run_at) FROM ferry_jobs WHERE state = 'delayed' AND queue = ?`,
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
  counts: 'SELECT state, COUNT(*) FROM ferry_jobs GROUP BY state',
  dueCount: `SELECT COUNT(*) FROM ferry_jobs WHERE state = 'delayed' AND run_at <= ?`,
  finishedBefore:
    `${JOBS} WHERE finished_at IS NOT NULL AND chain_id IS NULL AND batch_id IS NULL AND finished_at < ? ` +
    'ORDER BY finished_at LIMIT ?',
  nextSeq: `UPDATE ferry_meta SET value = value + 1 WHERE key = 'seq' RETURNING value`,

  getChain: 'SELECT id, state, finished_at, data FROM ferry_chains WHERE id = ?',
  putChain: 'INSERT OR REPLACE INTO ferry_chains (id, state, finished_at, data) VALUES (?, ?, ?, ?)',
  deleteChain: 'DELETE FROM ferry_chains WHERE id = ?',
  chainsFinishedBefore: 'SELECT id, state, finished_at, data FROM ferry_chains WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?',
  getBatch: 'SELECT id, state, finished_at, data FROM ferry_batches WHERE id = ?',
  putBatch: 'INSERT OR REPLACE INTO ferry_batches (id, state, finished_at, data) VALUES (?, ?, ?, ?)',
  deleteBatch: 'DELETE FROM ferry_batches WHERE id = ?',
  batchesFinishedBefore: 'SELECT id, state, finished_at, data FROM ferry_batches WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT ?',

  getSchedule: 'SELECT name, next_run_at, data FROM ferry_schedules WHERE name = ?',
  listSchedules: 'SELECT name, next_run_at, data FROM ferry_schedules ORDER BY name',
  dueSchedules: 'SELECT name, next_run_at, data FROM ferry_schedules WHERE next_run_at <= ? ORDER BY next_run_at LIMIT ?',
  nextScheduleAt: 'SELECT MIN(next_run_at) FROM ferry_schedules',
  putSchedule: 'INSERT OR REPLACE INTO ferry_schedules (name, next_run_at, data) VALUES (?, ?, ?)',
  deleteSchedule: 'DELETE FROM ferry_schedules WHERE name = ?',
} as const

export type StatementName = keyof typeof SQL


export class Statements {
  readonly #db: Database
  readonly #prepared = new Map<string, PreparedStatement>()

  constructor(db: Database) {
    this.#db = db
    for (const sql of Object.values(SQL)) this.#prepare(sql)
  }

  /** Every row of statement `name` with these bindings, each mapped by `map`. */
  all<T>(name: StatementName, bind: Bind, map: (row: SqlValue[]) => T): T[] {
    return this.#all(this.#prepare(SQL[name]), bind, map)
  }

  first<T>(name: StatementName, bind: Bind, map: (row: SqlValue[]) => T): T | undefined {
    const stmt = this.#prepare(SQL[name])
    try {
      if (bind.length > 0) stmt.bind(bind)
      return stmt.step() ? map(stmt.get([])) : undefined
    } finally {
      stmt.reset()
    }
  }

  /** The first column of the first row, or undefined when it is NULL or there is none. */
  value(name: StatementName, bind: Bind): number | undefined {
    const v = this.first(name, bind, (r) => r[0])
    return v === null || v === undefined ? undefined : Number(v)
  }

  run(name: StatementName, bind: Bind): void {
    const stmt = this.#prepare(SQL[name])
    try {
      if (bind.length > 0) stmt.bind(bind)
      stmt.step()
    } finally {
      stmt.reset()
    }
  }

  counts(dueBy: number): Counts {
    const c: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }
    for (const [state, n] of this.all('counts', [], (r) => [r[0] as JobState, Number(r[1])] as const)) c[state] = n
    const due = this.value('dueCount', [dueBy]) ?? 0
    c.waiting += due
    c.delayed -= due
    return c
  }

  /** Jobs matching the filter in dispatch order (the state as stored). */
  listJobs<T>(f: JobFilter, map: (row: SqlValue[]) => T): T[] {
    const where: string[] = []
    const bind: SqlValue[] = []
    const match = (column: string, want: string | string[] | undefined): void => {
      if (want === undefined) return
      if (Array.isArray(want)) {
        bind.push(JSON.stringify(want))
        where.push(IN_JSON(column, bind.length))
      } else {
        bind.push(want)
        where.push(`${column} = ?${bind.length}`)
      }
    }
    match('state', f.state)
    match('type', f.type)
    match('queue', f.queue)
    match('batch_id', f.batchId)
    match('chain_id', f.chainId)
    bind.push(f.limit ?? 100, f.offset ?? 0)
    const sql = `${JOBS}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ?${bind.length - 1} OFFSET ?${bind.length}`
    return this.#all(this.#prepare(sql), bind, map)
  }

  finalize(): void {
    for (const stmt of this.#prepared.values()) stmt.finalize()
    this.#prepared.clear()
  }

  #prepare(sql: string): PreparedStatement {
    let stmt = this.#prepared.get(sql)
    if (!stmt) this.#prepared.set(sql, (stmt = this.#db.prepare(sql)))
    return stmt
  }

  #all<T>(stmt: PreparedStatement, bind: Bind, map: (row: SqlValue[]) => T): T[] {
    try {
      if (bind.length > 0) stmt.bind(bind)
      const out: T[] = []
      while (stmt.step()) out.push(map(stmt.get([])))
      return out
    } finally {
      stmt.reset()
    }
  }
}
