/**
 * `PostgresBackend`: the `StoreBackend` over a `Driver` (a `pg.Pool` or a PGlite instance).
 * `defineStore` turns it into a Store; all the rules live in core.
 *
 * Several processes share the database, each running transactions at READ COMMITTED:
 *
 * - Inside a write, a read by id locks the row (`FOR UPDATE`), and the index reads that pick
 *   work skip the rows another transaction holds (`FOR UPDATE SKIP LOCKED`): no two processes
 *   ever take one job. Due schedules are the exception: a schedule another transaction is
 *   firing is waited for, then read as it committed, so a turn tells its true next run.
 *   What a write read locked cannot change under it, so it is remembered and read again
 *   from memory.
 * - An id not found (a job, chain, batch or schedule about to be inserted) and a unique key
 *   not held take a transaction advisory lock on their hash, then are read again: of two
 *   processes inserting one id or one key, the second waits, then finds the first's.
 * - A deadlock (40P01) or serialization failure (40001) runs the whole write again: the
 *   operations in core do not change their input, so a second run is the same request.
 *
 * Group commit: one write is one transaction with as few round trips as SQL allows. Puts and
 * deletes are buffered and sent as one statement, before the next query that could see them
 * and at the end; reads by id issued together (a `Promise.all`) are one `= ANY($1)` query.
 * Requests run on the connection one at a time, in the order they were issued, so a read
 * issued after a put sees it, as `StoreBackend` requires.
 *
 * A write given `{ tx }` runs on the application's own transaction (`driver.joined`), inside a
 * savepoint so that a failed dispatch leaves the application's work in place; it commits, or
 * not, with the application's. Reads run in transactions of their own and lock nothing.
 *
 * @module
 */
import { InvalidArgumentError, QueueClosedError, QueueError, StorageError, StorageFullError } from '../../core/errors.js'
import { unreadableOf } from '../../core/damaged.js'
import type { QueueScope, StoreBackend, StoreTx } from '../../core/store-backend.js'
import type { StoredJob } from '../../core/store.js'
import type { Counts, JobState } from '../../core/types.js'
import type { Driver, Sql } from './driver.js'
import { watchCommit } from './joined.js'
import { MANY } from './migrations.js'
import { batchFromRow, batchToRow, chainFromRow, chainToRow, jobFromRow, jobToRow, scheduleFromRow, scheduleToRow, type Row } from './rows.js'
import { Statements, type Flush } from './statements.js'

export interface PostgresBackendOptions {
  driver: Driver
  /** The Postgres schema (namespace) of the tables, a validated lowercase identifier. */
  schema: string
  /** Runs the migrations once; awaited before the first statement. */
  ready: () => Promise<void>
  share?: StoreBackend['share']
}

/** How many times a write that met a deadlock or a serialization failure is run again. */
const RETRIES = 8
const RETRYABLE: ReadonlySet<string> = new Set(['40P01', '40001'])

export class PostgresBackend implements StoreBackend {
  readonly share?: StoreBackend['share']
  readonly #driver: Driver
  readonly #statements: Statements
  readonly #ready: () => Promise<void>
  readonly #where: string
  /** Per application transaction: the writes joined to it run one after another. */
  readonly #joinedTail = new WeakMap<object, Promise<unknown>>()
  /** Per application transaction: whether its last joined write committed. */
  readonly #commits = new WeakMap<object, Promise<() => Promise<boolean>>>()
  readonly #running = new Set<Promise<unknown>>()
  #closed = false

  constructor(o: PostgresBackendOptions) {
    this.#driver = o.driver
    this.#statements = new Statements(o.schema)
    this.#ready = o.ready
    this.#where = `the Postgres store (schema "${o.schema}")`
    if (o.share) this.share = o.share
  }

  write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> {
    return this.#track(async () => {
      await this.#open()
      if (opts?.tx !== undefined) return this.#joined(opts.tx, fn)
      for (let attempt = 0; ; attempt++) {
        let tx: PgTx | undefined
        try {
          return await this.#transaction(async (sql) => {
            tx = new PgTx(sql, this.#statements, this.#where, true)
            const out = await fn(tx)
            await tx.finish()
            return out
          })
        } catch (err) {
          const first = tx?.failed ?? err
          if (attempt < RETRIES && RETRYABLE.has(sqlState(first) ?? '')) {
            // Apart a little, so that the two transactions that met do not meet again.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * (attempt + 1)))
            continue
          }
          throw err
        }
      }
    })
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#track(async () => {
      await this.#open()
      return this.#transaction((sql) => fn(new PgTx(sql, this.#statements, this.#where, false)))
    })
  }

  /** Whether the application's transaction a write joined has committed. */
  async committed(tx: unknown): Promise<boolean> {
    const watch = typeof tx === 'object' && tx !== null ? this.#commits.get(tx) : undefined
    if (!watch) return false
    return (await watch)()
  }

  /** Waits for the calls already running; later ones reject with `QueueClosedError`. The driver is the store's to close. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.allSettled([...this.#running])
  }

  async #open(): Promise<void> {
    try {
      await this.#ready()
    } catch (err) {
      throw storageError(err, this.#where)
    }
  }

  #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new QueueClosedError('the store is closed'))
    const run = fn()
    this.#running.add(run)
    void run.then(
      () => this.#running.delete(run),
      () => this.#running.delete(run),
    )
    return run
  }

  /**
   * `driver.transaction`, with what failed in the driver (connecting, `BEGIN`, `COMMIT`) as a
   * `StorageError`; what `fn` throws passes as it is (its statements' failures are already).
   */
  async #transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    let thrown: { error: unknown } | undefined
    try {
      return await this.#driver.transaction(async (sql) => {
        try {
          return await fn(sql)
        } catch (err) {
          thrown = { error: err }
          throw err
        }
      })
    } catch (err) {
      throw thrown?.error === err ? err : storageError(err, this.#where)
    }
  }

  #joined<T>(tx: unknown, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const sql = this.#driver.joined(tx)
    const key = tx as object
    const step = async (): Promise<T> => {
      const run = (text: string): Promise<unknown> =>
        sql.query(text).catch((err: unknown) => {
          throw storageError(err, this.#where)
        })
      await run('SAVEPOINT ferry_write')
      try {
        const storeTx = new PgTx(sql, this.#statements, this.#where, true)
        const out = await fn(storeTx)
        await storeTx.finish()
        await run('RELEASE SAVEPOINT ferry_write')
        // Asked here, inside the application's transaction: told once it has ended, and only
        // when this write's own savepoint was kept (a savepoint of the application around it
        // may have been rolled back), which a row it wrote tells.
        const wrote = storeTx.wrote
        const watch = watchCommit(this.#driver, sql, wrote && { table: this.#statements[wrote.table], column: KEY[wrote.table], key: wrote.key })
        watch.catch(() => undefined)
        this.#commits.set(key, watch)
        await watch.catch((err: unknown) => {
          throw storageError(err, this.#where)
        })
        return out
      } catch (err) {
        try {
          await sql.query('ROLLBACK TO SAVEPOINT ferry_write')
          await sql.query('RELEASE SAVEPOINT ferry_write')
        } catch {
          // The application's transaction is gone; its COMMIT will fail and say so.
        }
        throw err
      }
    }
    const run = (this.#joinedTail.get(key) ?? Promise.resolve()).then(step, step)
    this.#joinedTail.set(
      key,
      run.catch(() => undefined),
    )
    return run
  }
}

/** The SQLSTATE of a Postgres error (node-postgres and PGlite both set `code`). */
function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
}

/**
 * A failure of the database or the connection as a ferry error: a full disk is
 * `StorageFullError`, anything else a `StorageError` with the message and the original as
 * `cause`. Errors that are ferry's already pass as they are.
 */
export function storageError(err: unknown, where: string): QueueError {
  if (err instanceof QueueError) return err
  const message = `${where}: ${err instanceof Error ? err.message : String(err)}`
  const state = sqlState(err)
  // 53100 disk_full, 53200 out_of_memory is not the disk.
  if (state === '53100') return new StorageFullError(message, { cause: err })
  return new StorageError(message, state ? { cause: err, code: `PG_${state}` } : { cause: err })
}

type Table = 'jobs' | 'chains' | 'batches' | 'schedules'

/** A row remembered by a write: as read (and locked), or as it will be written (`dirty`). `null`: no such row. */
interface Known {
  row: Row | null
  dirty: boolean
}

/** A part of the wake-up query: its text (with the rows this write changed left out), and the value of a changed row. */
interface TimePart {
  sql: (exclude?: number) => string
  params: unknown[]
  table: 'jobs' | 'schedules'
  value: (r: Row) => number | undefined
}

/** Reads by id issued together, answered by one query when their turn comes. */
interface Lookup {
  keys: Set<string>
  result: Promise<Map<string, Row>>
}

const seqOf = (r: Row): number => Number(r['seq'])
const num = (r: Row, column: string): number => r[column] as number
const byPriority = (a: Row, b: Row): number => num(b, 'priority') - num(a, 'priority') || num(a, 'run_at') - num(b, 'run_at') || seqOf(a) - seqOf(b)
const byRunAt = (a: Row, b: Row): number => num(a, 'run_at') - num(b, 'run_at') || num(b, 'priority') - num(a, 'priority') || seqOf(a) - seqOf(b)

const TABLES: readonly Table[] = ['jobs', 'chains', 'batches', 'schedules']
const KEY: Record<Table, string> = { jobs: 'id', chains: 'id', batches: 'id', schedules: 'name' }

/** The reads and writes of one transaction. Reads of a write (`locking`) lock what they read. */
class PgTx implements StoreTx {
  readonly #sql: Sql
  readonly #s: Statements
  readonly #where: string
  readonly #locking: boolean
  readonly #known: Record<Table, Map<string, Known>> = { jobs: new Map(), chains: new Map(), batches: new Map(), schedules: new Map() }
  readonly #lookups: Partial<Record<Table, Lookup>> = {}
  #unique: { keys: [string, number][]; result: Promise<(Row | undefined)[]> } | undefined
  #times: { parts: TimePart[]; result: Promise<(number | undefined)[]> } | undefined
  #tail: Promise<unknown> = Promise.resolve()
  /** The first statement of this transaction that failed: Postgres refuses every one after it. */
  failed: unknown
  /** A row this transaction wrote (the last put sent): whether it stayed tells whether the write did. */
  wrote: { table: Table; key: string } | undefined

  constructor(sql: Sql, s: Statements, where: string, locking: boolean) {
    this.#sql = sql
    this.#s = s
    this.#where = where
    this.#locking = locking
  }

  getJob = (id: string) => this.#get('jobs', id, jobFromRow)
  getChain = (id: string) => this.#get('chains', id, chainFromRow)
  getBatch = (id: string) => this.#get('batches', id, batchFromRow)
  getSchedule = (name: string) => this.#get('schedules', name, scheduleFromRow)

  batchJobIds = (batchId: string): Promise<string[]> =>
    this.#indexed(async () => (await this.#query<{ id: string }>(this.#s.batchJobIds, [batchId])).map((r) => r.id))

  findUnique = (key: string, now: number) => {
    let u = this.#unique
    if (!u) {
      const batch: { keys: [string, number][]; result: Promise<(Row | undefined)[]> } = { keys: [], result: Promise.resolve([]) }
      batch.result = this.#serial(async () => {
        if (this.#unique === batch) this.#unique = undefined
        await this.#flush(['jobs'])
        return this.#findUnique(batch.keys)
      })
      this.#unique = u = batch
    }
    const i = u.keys.push([key, now]) - 1
    return u.result.then((rows) => {
      const row = rows[i]
      return row ? jobFromRow(row) : undefined
    })
  }

  ready = async (scope: QueueScope, limit: number, order: 'priority' | 'runAt' = 'priority') => {
    const { queues, types } = scope
    if (limit <= 0 || queues.length === 0 || types.length === 0) return []
    const one = queues.length === 1 && types.length === 1
    return this.#pick(
      (exclude) => (one ? this.#s.ready(order, this.#locking, exclude) : this.#s.readyMany(order, this.#locking, exclude)),
      one ? [queues[0], types[0], limit] : [queues, types, limit],
      (r) => r['state'] === 'waiting' && queues.includes(r['queue'] as string) && types.includes(r['type'] as string),
      order === 'runAt' ? byRunAt : byPriority,
      limit,
    )
  }

  due = async (queues: string[], now: number, limit: number) => {
    if (limit <= 0 || queues.length === 0) return []
    return this.#pick(
      (exclude) => this.#s.due(this.#locking, exclude),
      [queues, now, limit],
      (r) => r['state'] === 'delayed' && queues.includes(r['queue'] as string) && (r['run_at'] as number) <= now,
      (a, b) => (a['run_at'] as number) - (b['run_at'] as number) || seqOf(a) - seqOf(b),
      limit,
    )
  }

  expired = async (scope: QueueScope, now: number, limit: number, alive?: { owners: string[]; asOf: number }) => {
    if (limit <= 0 || scope.queues.length === 0 || scope.types.length === 0) return []
    const params: unknown[] = [now, scope.queues, scope.types, limit]
    if (alive) params.push(alive.owners, alive.asOf)
    const ended = (r: Row): boolean => {
      const until = r['lease_until'] as number | null
      if (until !== null && until <= now) return true
      const owner = r['lease_owner'] as string | null
      const started = r['started_at'] as number | null
      return alive !== undefined && owner !== null && !alive.owners.includes(owner) && started !== null && started < alive.asOf
    }
    return this.#pick(
      (exclude) => this.#s.expired(alive !== undefined, this.#locking, exclude),
      params,
      (r) => r['state'] === 'active' && scope.queues.includes(r['queue'] as string) && scope.types.includes(r['type'] as string) && ended(r),
      (a, b) => (a['lease_until'] as number) - (b['lease_until'] as number) || seqOf(a) - seqOf(b),
      limit,
    )
  }

  nextDue = async (queues: string[]) =>
    queues.length === 0
      ? undefined
      : this.#time((ex) => this.#s.nextDue(ex), [queues], 'jobs', (r) => (r['state'] === 'delayed' && queues.includes(r['queue'] as string) ? num(r, 'run_at') : undefined))

  nextExpiry = async (scope: QueueScope, now: number) =>
    scope.queues.length === 0 || scope.types.length === 0
      ? undefined
      : this.#time((ex) => this.#s.nextExpiry(ex), [now, scope.queues, scope.types], 'jobs', (r) => {
          const until = r['lease_until'] as number | null
          const mine = r['state'] === 'active' && scope.queues.includes(r['queue'] as string) && scope.types.includes(r['type'] as string)
          return mine && until !== null && until > now ? until : undefined
        })

  listJobs = async (filter: Parameters<StoreTx['listJobs']>[0], now: number) => {
    const q = this.#s.listJobs(filter, now)
    if (!q) return []
    return (await this.#indexed(() => this.#query(q.text, q.params))).map(jobFromRow)
  }

  counts = async (now: number): Promise<Counts> => {
    const rows = await this.#indexed(() => this.#query<{ state: JobState; n: unknown; due: unknown }>(this.#s.counts, [now]))
    const c: Counts = { blocked: 0, waiting: 0, delayed: 0, active: 0, succeeded: 0, failed: 0, cancelled: 0 }
    for (const r of rows) {
      c[r.state] = Number(r.n)
      if (r.state === 'delayed') {
        c.waiting += Number(r.due)
        c.delayed -= Number(r.due)
      }
    }
    return c
  }

  // In a write (prune), the rows read are locked until it ends: one replayed meanwhile is not
  // among them, and none can be replayed before the write deleted them (see `Statements`).
  finishedBefore = async (before: number, limit: number) =>
    limit <= 0
      ? []
      : this.#held('jobs', await this.#indexed(() => this.#query(this.#s.finishedBefore(this.#locking), [before, limit]))).map(jobFromRow)

  // With the last page, the damaged groups not finished (at most `limit` of each), which
  // prune judges by their jobs.
  groupsFinishedBefore = (before: number, limit: number) =>
    this.#indexed(async () => {
      const read = async <T extends object>(table: 'chains' | 'batches', of: (r: Row) => T): Promise<T[]> => {
        const found = this.#held(table, await this.#query(this.#s.groupsFinishedBefore(table, this.#locking), [before, limit])).map(of)
        if (found.length >= limit) return found
        const damaged = (await this.#query(this.#s.groupsUnfinished(table))).map(of).filter((g) => unreadableOf(g) !== undefined)
        return [...found, ...damaged.slice(0, limit)]
      }
      return { chains: await read('chains', chainFromRow), batches: await read('batches', batchFromRow) }
    }, ['chains', 'batches'])

  finished = async (queue: string, state: Parameters<StoreTx['finished']>[1], q: Parameters<StoreTx['finished']>[2]) =>
    this.#held(
      'jobs',
      await this.#indexed(() => this.#query(this.#s.finished(q.newest === true, this.#locking), [queue, state, q.before ?? Number.MAX_VALUE, q.limit, q.offset ?? 0])),
    ).map(jobFromRow)

  finishedCount = async (queue: string, state: Parameters<StoreTx['finishedCount']>[1]) => {
    const [r] = await this.#indexed(() => this.#query<{ n: unknown }>(this.#s.finishedCount, [queue, state]))
    return Number(r?.n ?? 0)
  }

  listSchedules = async () => (await this.#indexed(() => this.#query(this.#s.listSchedules), ['schedules'])).map(scheduleFromRow)

  dueSchedules = async (now: number, limit: number) => {
    if (limit <= 0) return []
    const rows = await this.#indexed(() => this.#query(this.#s.dueSchedules(this.#locking), [now, limit]), ['schedules'])
    return this.#held('schedules', rows).map(scheduleFromRow)
  }

  nextScheduleAt = async () => this.#time((ex) => this.#s.nextScheduleAt(ex), [], 'schedules', (r) => num(r, 'next_run_at'))

  nextSeq = async (count = 1) => {
    if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`nextSeq(count): count must be a positive integer, not ${count}`)
    this.#mustWrite()
    const [r] = await this.#serial(() => this.#query<{ first: unknown }>(this.#s.nextSeq, [count]))
    if (r === undefined) throw new StorageError(`${this.#where}: next_seq returned nothing`)
    return Number(r.first)
  }

  putJob = async (j: Parameters<StoreTx['putJob']>[0]) => this.#put('jobs', j.id, jobToRow(j))
  putChain = async (c: Parameters<StoreTx['putChain']>[0]) => this.#put('chains', c.id, chainToRow(c))
  putBatch = async (b: Parameters<StoreTx['putBatch']>[0]) => this.#put('batches', b.id, batchToRow(b))
  putSchedule = async (sc: Parameters<StoreTx['putSchedule']>[0]) => this.#put('schedules', sc.name, scheduleToRow(sc))
  deleteJob = async (id: string) => this.#put('jobs', id, null)
  deleteChain = async (id: string) => this.#put('chains', id, null)
  deleteBatch = async (id: string) => this.#put('batches', id, null)
  deleteSchedule = async (name: string) => this.#put('schedules', name, null)

  /** Sends what is still buffered, after every request issued before. */
  async finish(): Promise<void> {
    for (;;) {
      const tail = this.#tail
      await tail
      if (tail === this.#tail) break
    }
    await this.#serial(() => this.#flush())
  }

  #mustWrite(): void {
    if (!this.#locking) throw new StorageError(`${this.#where}: a read transaction cannot write`)
  }

  #put(table: Table, key: string, row: Row | null): void {
    this.#mustWrite()
    this.#known[table].set(key, { row, dirty: true })
  }

  /** A record by key: from what this write knows, else read with the others asked for now. */
  #get<T>(table: Table, key: string, of: (r: Row) => T): Promise<T | undefined> {
    const known = this.#known[table].get(key)
    if (known) return Promise.resolve(known.row ? of(known.row) : undefined)
    let l = this.#lookups[table]
    if (!l) {
      const lookup: Lookup = { keys: new Set(), result: Promise.resolve(new Map<string, Row>()) }
      lookup.result = this.#serial(() => {
        if (this.#lookups[table] === lookup) delete this.#lookups[table]
        return this.#fetch(table, [...lookup.keys])
      })
      this.#lookups[table] = l = lookup
    }
    l.keys.add(key)
    return l.result.then((rows) => {
      const row = rows.get(key)
      return row ? of(row) : undefined
    })
  }

  /**
   * Reads rows by key. In a write they are locked, and keys not found are locked by their
   * hash and read again: a row another transaction inserted meanwhile is found then, and none
   * can be inserted after, since every insert takes the same lock first. Both are remembered.
   */
  async #fetch(table: Table, keys: string[]): Promise<Map<string, Row>> {
    const s = this.#s
    // Jobs, the most read by far, in one statement: `jobs_locked` does all this on the server.
    const lockedJobs = table === 'jobs' && this.#locking
    const sql = lockedJobs ? s.getJobsLocked : table === 'jobs' ? s.getJobs(this.#locking) : table === 'schedules' ? s.getSchedules(this.#locking) : s.getGroups(table, this.#locking)
    const found = new Map<string, Row>()
    for (const r of await this.#query(sql, [keys])) found.set(r[KEY[table]] as string, r)
    if (!this.#locking) return found
    const missing = lockedJobs ? [] : keys.filter((k) => !found.has(k))
    if (missing.length > 0) {
      await this.#lockKeys(table, missing)
      for (const r of await this.#query(sql, [missing])) found.set(r[KEY[table]] as string, r)
    }
    const known = this.#known[table]
    // A put issued while the read ran is newer than what it read.
    for (const k of keys) if (!known.has(k)) known.set(k, { row: found.get(k) ?? null, dirty: false })
    return found
  }

  /**
   * Jobs holding these unique keys, one per key. In a write, the jobs found are locked, and
   * keys not held are locked by their hash and looked up again (see `#fetch`).
   */
  async #findUnique(keys: [string, number][]): Promise<(Row | undefined)[]> {
    const sql = this.#s.findUnique(this.#locking)
    const out: (Row | undefined)[] = keys.map(() => undefined)
    const read = async (which: number[]): Promise<void> => {
      const rows = await this.#query(sql, [which.map((i) => keys[i]?.[0]), which.map((i) => keys[i]?.[1])])
      for (const r of rows) {
        const i = which[Number(r['k']) - 1] as number
        if (out[i] === undefined) out[i] = r
      }
    }
    await read(keys.map((_, i) => i))
    if (this.#locking) {
      const missing = keys.map((_, i) => i).filter((i) => out[i] === undefined)
      if (missing.length > 0) {
        await this.#lockKeys('unique', missing.map((i) => keys[i]?.[0] as string))
        await read(missing)
      }
      this.#held('jobs', out.filter((r): r is Row => r !== undefined))
    }
    return out
  }

  /**
   * Advisory locks on `kind:key` for each key, or, for many keys at once, one on the whole
   * kind, which every lock on one key also takes (shared), so that the two exclude each other.
   */
  async #lockKeys(kind: Table | 'unique', keys: string[]): Promise<void> {
    const whole = `${kind}:*`
    if (keys.length > MANY) await this.#query(this.#s.lockWhole, [this.#s.schema, whole])
    else await this.#query(this.#s.lockKeys, [keys.map((k) => `${kind}:${k}`), this.#s.schema, whole])
  }

  /**
   * An index read of jobs that picks work, without sending the buffered writes first: the jobs
   * this write changed are left out of the query (`exclude`, the number of the parameter that
   * lists them) and matched here, as they will be, with `match` and `order`, the query's own
   * condition and order. An engine's turn so sends its settlements once, with its claims, at
   * the end. The rows read are locked and remembered.
   */
  async #pick(sql: (exclude?: number) => string, params: unknown[], match: (r: Row) => boolean, order: (a: Row, b: Row) => number, limit: number): Promise<StoredJob[]> {
    const unsent = [...this.#known.jobs].filter(([, k]) => k.dirty)
    if (unsent.length === 0) return this.#held('jobs', await this.#serial(() => this.#query(sql(), params))).map(jobFromRow)
    const ids = unsent.map(([id]) => id)
    const mine = unsent.flatMap(([, k]) => (k.row && match(k.row) ? [k.row] : []))
    const read = this.#held('jobs', await this.#serial(() => this.#query(sql(params.length + 1), [...params, ids])))
    if (mine.length === 0) return read.map(jobFromRow)
    return [...read, ...mine].sort(order).slice(0, limit).map(jobFromRow)
  }

  /** Rows an index read locked: remembered, unless this write has newer ones. */
  #held(table: Table, rows: Row[]): Row[] {
    if (!this.#locking) return rows
    const known = this.#known[table]
    for (const r of rows) {
      const key = r[KEY[table]] as string
      const k = known.get(key)
      if (!k || !k.dirty) known.set(key, { row: r, dirty: false })
    }
    return rows
  }

  /**
   * The one value of a query (`AS t`). Those asked for together (the next due job, lease end
   * and schedule, in a `Promise.all`) are one statement: `SELECT (q1), (q2), ...`, which also
   * sends the buffered writes. The query reads the rows as they were before them, so the rows
   * this write changed are left out of it (`exclude`, as in `#pick`) and reckoned here with
   * `value`: an engine's turn sends its writes and asks when to wake in one round trip.
   */
  #time(sql: (exclude?: number) => string, params: unknown[], table: 'jobs' | 'schedules', value: (r: Row) => number | undefined): Promise<number | undefined> {
    let b = this.#times
    if (!b) {
      const batch: { parts: TimePart[]; result: Promise<(number | undefined)[]> } = { parts: [], result: Promise.resolve([]) }
      batch.result = this.#serial(async () => {
        if (this.#times === batch) this.#times = undefined
        const { flush, sent } = this.#unsent()
        const sending = new Set(sent)
        const changed = { jobs: [] as string[], schedules: [] as string[] }
        const rows = { jobs: [] as Row[], schedules: [] as Row[] }
        for (const t of ['jobs', 'schedules'] as const) {
          for (const [key, k] of this.#known[t]) {
            if (!sending.has(k)) continue
            changed[t].push(key)
            if (k.row) rows[t].push(k.row)
          }
        }
        const q = this.#s.flush(flush, (shift) => {
          const all: unknown[] = []
          const columns = batch.parts.map((part, i) => {
            const ids = changed[part.table]
            const own = ids.length > 0 ? [...part.params, ids] : part.params
            const text = part.sql(ids.length > 0 ? part.params.length + 1 : undefined)
            const at = shift + all.length
            all.push(...own)
            return `(${text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + at}`)}) AS t${i}`
          })
          return { text: `SELECT ${columns.join(', ')}`, params: all }
        })
        const [row] = await this.#query(q.text, q.params)
        for (const k of sent) k.dirty = false
        return batch.parts.map((part, i) => {
          const read = row?.[`t${i}`]
          let t = read === null || read === undefined ? undefined : Number(read)
          for (const r of rows[part.table]) {
            const v = part.value(r)
            if (v !== undefined && (t === undefined || v < t)) t = v
          }
          return t
        })
      })
      this.#times = b = batch
    }
    const i = b.parts.push({ sql, params, table, value }) - 1
    return b.result.then((values) => values[i])
  }

  /** An index query of `tables`: runs in its turn, after the buffered writes to them are sent. */
  #indexed<T>(fn: () => Promise<T>, tables: readonly Table[] = ['jobs']): Promise<T> {
    return this.#serial(async () => {
      await this.#flush(tables)
      return fn()
    })
  }

  /** Runs `fn` once every request issued before has finished. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** The buffered puts and deletes of these tables, and the entries they come from. */
  #unsent(tables: readonly Table[] = TABLES): { flush: Flush; sent: Known[] } {
    const f: Flush = { jobs: { put: [], del: [] }, chains: { put: [], del: [] }, batches: { put: [], del: [] }, schedules: { put: [], del: [] } }
    const sent: Known[] = []
    for (const table of tables) {
      const dirty = [...this.#known[table]].filter(([, k]) => k.dirty).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      for (const [key, k] of dirty) {
        if (k.row) {
          f[table].put.push(k.row)
          this.wrote = { table, key }
        } else f[table].del.push(key)
        sent.push(k)
      }
    }
    return { flush: f, sent }
  }

  /** Sends the buffered puts and deletes of these tables as one statement. */
  async #flush(tables: readonly Table[] = TABLES): Promise<void> {
    const { flush: f, sent } = this.#unsent(tables)
    if (sent.length === 0) return
    const q = this.#s.flush(f)
    await this.#query(q.text, q.params)
    // A put issued meanwhile replaced its entry, which stays to be sent.
    for (const k of sent) k.dirty = false
  }

  async #query<R = Row>(text: string, params?: readonly unknown[]): Promise<R[]> {
    if (this.failed !== undefined) {
      throw new StorageError(`${this.#where}: an earlier statement of this transaction failed, so the rest of it does not run`, { cause: this.failed })
    }
    try {
      return await this.#sql.query<R>(text, params)
    } catch (err) {
      this.failed = err
      throw storageError(err, this.#where)
    }
  }
}
