/**
 * Every query the Postgres store runs, for one schema. Inside a write, reads by id lock their
 * rows (`FOR UPDATE`) and the index reads that pick work (`ready`, `due`, `expired`) skip
 * rows another transaction holds (`FOR UPDATE SKIP LOCKED`), so two processes never take one
 * job; `dueSchedules` waits for them instead (see there). Reads outside a write lock nothing.
 *
 * Rows are written many at a time from one JSON parameter (`json_to_recordset`): a whole
 * flush of a transaction's buffered puts and deletes is one statement, whatever its size, and
 * node-postgres and PGlite pass a string the same way (no array literals to escape).
 *
 * @module
 */
import type { JobFilter, JobState } from '../../core/types.js'
import { JOB_COLUMNS, JOB_TYPES } from './rows.js'

/** What `flush` writes: the buffered rows and deleted keys of each table. */
export interface Flush {
  jobs: { put: Record<string, unknown>[]; del: string[] }
  chains: { put: Record<string, unknown>[]; del: string[] }
  batches: { put: Record<string, unknown>[]; del: string[] }
  schedules: { put: Record<string, unknown>[]; del: string[] }
}

const GROUP_COLUMNS = { id: 'text', state: 'text', finished_at: 'double precision', data: 'json' }
const SCHEDULE_COLUMNS = { name: 'text', next_run_at: 'double precision', data: 'json' }

const STATES: ReadonlySet<string> = new Set<JobState>(['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled'])

/** Leaves out the jobs of the ids in parameter `n` (text[]), when given: see `PgTx.#pick`. */
const but = (n: number | undefined): string => (n === undefined ? '' : ` AND id <> ALL($${n}::text[])`)

export const CLAIM_ORDER = {
  priority: 'priority DESC, run_at, seq',
  runAt: 'run_at, priority DESC, seq',
} as const

export class Statements {
  readonly schema: string
  readonly jobs: string
  readonly chains: string
  readonly batches: string
  readonly schedules: string
  readonly nextSeqFn: string
  readonly jobsLocked: string
  /** The job columns as every query selects them: the JSON as text, parsed by `rows.ts`. */
  readonly jobSelect: string

  constructor(schema: string) {
    this.schema = schema
    const t = (name: string): string => `"${schema}"."${name}"`
    this.jobs = t('jobs')
    this.chains = t('chains')
    this.batches = t('batches')
    this.schedules = t('schedules')
    this.nextSeqFn = t('next_seq')
    this.jobsLocked = t('jobs_locked')
    this.jobSelect = JOB_COLUMNS.map((c) => (JOB_TYPES[c] === 'json' ? `${c}::text AS ${c}` : c)).join(', ')
  }

  /** The jobs of these ids ($1, text[]). */
  getJobs(lock: boolean): string {
    return `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE id = ANY($1::text[])${lock ? ' ORDER BY id FOR UPDATE' : ''}`
  }

  getGroups(table: 'chains' | 'batches', lock: boolean): string {
    return `SELECT id, state, finished_at, data::text AS data FROM ${this[table]} WHERE id = ANY($1::text[])${lock ? ' ORDER BY id FOR UPDATE' : ''}`
  }

  getSchedules(lock: boolean): string {
    return `SELECT name, next_run_at, data::text AS data FROM ${this.schedules} WHERE name = ANY($1::text[])${lock ? ' ORDER BY name FOR UPDATE' : ''}`
  }

  /**
   * Jobs holding one of the keys ($1, text[]) later than its time ($2, float8[]), with `k`, the
   * key's index in $1.
   */
  findUnique(lock: boolean): string {
    return (
      `SELECT u.k, ${this.jobSelect.replace(/(^|, )(\w+)/g, '$1j.$2')} FROM unnest($1::text[], $2::float8[]) WITH ORDINALITY AS u(key, now, k) ` +
      `JOIN ${this.jobs} j ON j.unique_key = u.key AND j.unique_until > u.now ORDER BY u.k, j.seq${lock ? ' FOR UPDATE OF j' : ''}`
    )
  }

  /**
   * Transaction advisory locks on the hashes of `schema:key` for the keys $1 (text[]), taken
   * in a fixed order so that two transactions never wait on each other's, after a shared one
   * on `schema:$3` (the kind as a whole): `Append` runs its parts in order.
   */
  get lockKeys(): string {
    const h = (v: string): string => `hashtextextended($2::text || ':' || ${v}, 0)`
    return (
      `SELECT count(x) AS n FROM (SELECT pg_advisory_xact_lock_shared(${h('$3::text')})::text AS x ` +
      `UNION ALL SELECT pg_advisory_xact_lock(h)::text FROM (SELECT DISTINCT ${h('k')} AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS keys) AS locks`
    )
  }

  /** The exclusive lock on `schema:$2`, a kind as a whole: for many keys at once. */
  get lockWhole(): string {
    return `SELECT pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::text, 0))::text AS x`
  }

  /**
   * `waiting` jobs of one queue ($1) and type ($2) in claim order, at most $3: a range of the
   * index of that order, skipping the rows other transactions hold when `lock`.
   */
  ready(order: keyof typeof CLAIM_ORDER, lock: boolean, exclude?: number): string {
    return (
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE state = 'waiting' AND queue = $1 AND type = $2${but(exclude)} ` +
      `ORDER BY ${CLAIM_ORDER[order]} LIMIT $3${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`
    )
  }

  /**
   * The same of several queues ($1, text[]) and types ($2, text[]): each pair read from the
   * index on its own (a range of at most $3 rows), then merged. The rows each pair read are
   * locked, those merged away too, until the transaction ends.
   */
  readyMany(order: keyof typeof CLAIM_ORDER, lock: boolean, exclude?: number): string {
    return (
      `SELECT j.* FROM unnest($1::text[]) AS q(queue) CROSS JOIN unnest($2::text[]) AS t(type) CROSS JOIN LATERAL (` +
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE state = 'waiting' AND queue = q.queue AND type = t.type${but(exclude)} ` +
      `ORDER BY ${CLAIM_ORDER[order]} LIMIT $3${lock ? ' FOR UPDATE SKIP LOCKED' : ''}) AS j ORDER BY ${CLAIM_ORDER[order]} LIMIT $3`
    )
  }

  /** `delayed` jobs of these queues ($1) with run_at <= $2, earliest first, at most $3. */
  due(lock: boolean, exclude?: number): string {
    return (
      `SELECT j.* FROM unnest($1::text[]) AS q(queue) CROSS JOIN LATERAL (` +
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE state = 'delayed' AND queue = q.queue AND run_at <= $2${but(exclude)} ` +
      `ORDER BY run_at, seq LIMIT $3${lock ? ' FOR UPDATE SKIP LOCKED' : ''}) AS j ORDER BY run_at, seq LIMIT $3`
    )
  }

  /** The earliest run_at of the delayed jobs of these queues ($1), but those of `exclude`. */
  nextDue(exclude?: number): string {
    return (
      `SELECT min(j.run_at) AS t FROM unnest($1::text[]) AS q(queue) CROSS JOIN LATERAL (` +
      `SELECT run_at FROM ${this.jobs} WHERE state = 'delayed' AND queue = q.queue${but(exclude)} ORDER BY run_at LIMIT 1) AS j`
    )
  }

  /**
   * Active jobs of the queues ($2) and types ($3) whose lease ended by $1, at most $4; with
   * `alive`, also those whose owner is not in $5 and that started before $6.
   */
  expired(alive: boolean, lock: boolean, exclude?: number): string {
    const dead = alive ? ' OR (lease_owner <> ALL($5::text[]) AND started_at < $6)' : ''
    return (
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE state = 'active' AND queue = ANY($2::text[]) AND type = ANY($3::text[])${but(exclude)} ` +
      `AND (lease_until <= $1${dead}) ORDER BY lease_until, seq LIMIT $4${lock ? ' FOR UPDATE SKIP LOCKED' : ''}`
    )
  }

  /** The earliest lease end after $1 of the active jobs of these queues ($2) and types ($3), but those of `exclude`. */
  nextExpiry(exclude?: number): string {
    return `SELECT min(lease_until) AS t FROM ${this.jobs} WHERE state = 'active' AND lease_until > $1 AND queue = ANY($2::text[]) AND type = ANY($3::text[])${but(exclude)}`
  }

  /** Jobs per stored state, and how many delayed ones are due by $1. */
  get counts(): string {
    return `SELECT state, count(*) AS n, count(*) FILTER (WHERE state = 'delayed' AND run_at <= $1) AS due FROM ${this.jobs} GROUP BY state`
  }

  /**
   * Jobs of no group finished before $1, oldest first, at most $2. In a write (prune, which
   * deletes them) they are locked: a row another transaction is changing is waited for and,
   * READ COMMITTED, its condition checked again once that one committed, so a job replayed
   * meanwhile is left out, and none can be replayed until the deleting write ends.
   */
  finishedBefore(lock = false): string {
    return (
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE finished_at IS NOT NULL AND chain_id IS NULL AND batch_id IS NULL ` +
      `AND finished_at < $1 ORDER BY finished_at LIMIT $2${lock ? ' FOR UPDATE' : ''}`
    )
  }

  /** Chains or batches finished before $1, oldest first, at most $2: locked in a write, as `finishedBefore`. */
  groupsFinishedBefore(table: 'chains' | 'batches', lock = false): string {
    return (
      `SELECT id, state, finished_at, data::text AS data FROM ${this[table]} WHERE finished_at IS NOT NULL AND finished_at < $1 ` +
      `ORDER BY finished_at LIMIT $2${lock ? ' FOR UPDATE' : ''}`
    )
  }

  /** Prune looks for damaged groups among those not finished: the whole table is read. */
  groupsUnfinished(table: 'chains' | 'batches'): string {
    return `SELECT id, state, finished_at, data::text AS data FROM ${this[table]} WHERE finished_at IS NULL`
  }

  /**
   * Finished jobs of queue $1 and state $2 with finished_at < $3, skipping $5, at most $4. In a
   * write (retention, which deletes them) they are locked, as in `finishedBefore`.
   */
  finished(newest: boolean, lock = false): string {
    const dir = newest ? ' DESC' : ''
    return (
      `SELECT ${this.jobSelect} FROM ${this.jobs} WHERE queue = $1 AND state = $2 AND finished_at IS NOT NULL AND finished_at < $3 ` +
      `ORDER BY finished_at${dir}, seq${dir} LIMIT $4 OFFSET $5${lock ? ' FOR UPDATE' : ''}`
    )
  }

  get finishedCount(): string {
    return `SELECT count(*) AS n FROM ${this.jobs} WHERE queue = $1 AND state = $2 AND finished_at IS NOT NULL`
  }

  get batchJobIds(): string {
    return `SELECT id FROM ${this.jobs} WHERE batch_id = $1 ORDER BY seq`
  }

  get listSchedules(): string {
    return `SELECT name, next_run_at, data::text AS data FROM ${this.schedules} ORDER BY name`
  }

  /**
   * Schedules due by $1, earliest first, at most $2. In a write, a schedule another
   * transaction holds is waited for, not skipped: once that one commits, the row is read again
   * and left out when it moved past $1 (READ COMMITTED), so a turn that met a schedule being
   * fired finds it fired and its next run committed, and tells that as its next wake-up.
   * Schedules are few, and held only while being fired.
   */
  dueSchedules(lock: boolean): string {
    return (
      `SELECT name, next_run_at, data::text AS data FROM ${this.schedules} WHERE next_run_at <= $1 ` +
      `ORDER BY next_run_at, name LIMIT $2${lock ? ' FOR UPDATE' : ''}`
    )
  }

  /** The earliest next run of the schedules, but those named in `exclude`. */
  nextScheduleAt(exclude?: number): string {
    return `SELECT min(next_run_at) AS t FROM ${this.schedules}${exclude === undefined ? '' : ` WHERE name <> ALL($${exclude}::text[])`}`
  }

  /**
   * Reserves $1 consecutive numbers and returns the first: `next_seq` holds a lock only while it
   * runs, so ranges of concurrent transactions never overlap and none waits for another's end.
   */
  get nextSeq(): string {
    return `SELECT ${this.nextSeqFn}($1::bigint) AS first`
  }

  /**
   * The jobs of these ids ($1, text[]) locked, in a write: those not found are locked by their
   * hash (as `lockKeys` does) and read again, all in one statement (`jobs_locked`).
   */
  get getJobsLocked(): string {
    return `SELECT ${this.jobSelect} FROM ${this.jobsLocked}($1::text[])`
  }

  /**
   * One statement for everything buffered: deletes by key, and upserts of whole rows read
   * from a JSON array, each table a `WITH` clause of its own. Parameters follow the order of
   * the clauses; rows of each table come sorted by key, so that two transactions lock rows
   * in one order. With `then`, a query whose parameters follow the flush's (`shift` of them)
   * is the statement's result: it reads the rows as they were before the flush.
   */
  flush(f: Flush, then?: (shift: number) => { text: string; params: unknown[] }): { text: string; params: unknown[] } {
    const params: unknown[] = []
    const p = (value: unknown): string => {
      params.push(JSON.stringify(value))
      return `$${params.length}::json`
    }
    const clauses: string[] = []
    const del = (table: string, key: string, keys: string[]): void => {
      if (keys.length > 0) clauses.push(`DELETE FROM ${table} WHERE ${key} IN (SELECT json_array_elements_text(${p(keys)}))`)
    }
    const put = (table: string, key: string, types: Record<string, string>, rows: Record<string, unknown>[]): void => {
      if (rows.length === 0) return
      const columns = Object.keys(types)
      // JSON columns travel as JSON strings (their text) so that a JSON null stays apart from SQL NULL.
      const def = columns.map((c) => `${c} ${types[c] === 'json' ? 'text' : types[c]}`).join(', ')
      const select = columns.map((c) => (types[c] === 'json' ? `r.${c}::json` : `r.${c}`)).join(', ')
      const update = columns.filter((c) => c !== key).map((c) => `${c} = excluded.${c}`).join(', ')
      clauses.push(
        `INSERT INTO ${table} (${columns.join(', ')}) SELECT ${select} FROM json_to_recordset(${p(rows)}) AS r(${def}) ` +
          `ON CONFLICT (${key}) DO UPDATE SET ${update}`,
      )
    }
    del(this.jobs, 'id', f.jobs.del)
    put(this.jobs, 'id', JOB_TYPES, f.jobs.put)
    del(this.chains, 'id', f.chains.del)
    put(this.chains, 'id', GROUP_COLUMNS, f.chains.put)
    del(this.batches, 'id', f.batches.del)
    put(this.batches, 'id', GROUP_COLUMNS, f.batches.put)
    del(this.schedules, 'name', f.schedules.del)
    put(this.schedules, 'name', SCHEDULE_COLUMNS, f.schedules.put)
    if (then) {
      const tail = then(params.length)
      params.push(...tail.params)
      return { text: clauses.length === 0 ? tail.text : `WITH ${clauses.map((c, i) => `w${i} AS (${c})`).join(', ')} ${tail.text}`, params }
    }
    if (clauses.length === 1) return { text: clauses[0] as string, params }
    return { text: `WITH ${clauses.map((c, i) => `w${i} AS (${c})`).join(', ')} SELECT 1`, params }
  }

  /**
   * The query of `listJobs`, and its parameters. A state filter matches the state users see:
   * `waiting` is the stored waiting jobs and the delayed ones already due, `delayed` the
   * others. Each stored state is one arm read in dispatch order from the state index and cut
   * at `offset + limit` rows; the arms are merged (`Merge Append`) and paged. A version (`dispatched_by` or `processed_by`) is matched from the two
   * version indexes. Undefined when no job can match (a state no job has).
   */
  listJobs(f: JobFilter, now: number): { text: string; params: unknown[] } | undefined {
    const params: unknown[] = []
    const p = (v: unknown): string => {
      params.push(v)
      return `$${params.length}`
    }
    const common: string[] = []
    const match = (column: string, want: string | string[] | undefined): void => {
      if (want === undefined) return
      common.push(Array.isArray(want) ? `${column} = ANY(${p(want)}::text[])` : `${column} = ${p(want)}`)
    }
    match('type', f.type)
    match('queue', f.queue)
    match('batch_id', f.batchId)
    match('chain_id', f.chainId)
    if (f.version !== undefined) {
      const v = p(f.version)
      common.push(`(dispatched_by = ${v} OR processed_by = ${v})`)
    }
    // Every state, without a state filter: each arm a range of the state index in seq order. A
    // batch or chain is one range of its own index, in seq order too, and a version the jobs
    // its two indexes name, sorted.
    const byIndex = f.batchId !== undefined || f.chainId !== undefined || f.version !== undefined
    let arms: string[][] = byIndex ? [[]] : [...STATES].map((state) => [`state = '${state}'`])
    if (f.state !== undefined) {
      arms = []
      let at: string | undefined
      const nowParam = (): string => (at ??= `${p(now)}::float8`)
      for (const state of new Set([f.state].flat())) {
        if (state === 'waiting') arms.push(["state = 'waiting'"], ["state = 'delayed'", `run_at <= ${nowParam()}`])
        else if (state === 'delayed') arms.push(["state = 'delayed'", `run_at > ${nowParam()}`])
        // A state no job has matches nothing, as in every store.
        else if (STATES.has(state)) arms.push([`state = '${state}'`])
      }
      if (arms.length === 0) return undefined
    }
    const limit = p(f.limit ?? 100)
    const offset = p(f.offset ?? 0)
    const where = (arm: string[]): string => {
      const all = [...arm, ...common]
      return all.length > 0 ? ` WHERE ${all.join(' AND ')}` : ''
    }
    if (arms.length === 1) {
      return { text: `SELECT ${this.jobSelect} FROM ${this.jobs}${where(arms[0] as string[])} ORDER BY seq LIMIT ${limit} OFFSET ${offset}`, params }
    }
    const selects = arms.map((arm) => `(SELECT ${this.jobSelect} FROM ${this.jobs}${where(arm)} ORDER BY seq LIMIT ${limit}::bigint + ${offset}::bigint)`)
    return { text: `SELECT * FROM (${selects.join(' UNION ALL ')}) AS a ORDER BY seq LIMIT ${limit} OFFSET ${offset}`, params }
  }
}
