/**
 * `SqliteBackend`: the `StoreBackend` over one SQLite connection. `defineStore` turns it into a
 * Store; all the rules live in core.
 *
 * One connection, one transaction at a time: calls queue behind each other, and each write is
 * `BEGIN IMMEDIATE` ... `COMMIT` (or `ROLLBACK` when it throws). A write given `{ tx }` joins
 * the application's transaction instead, inside a savepoint so that a failed dispatch leaves
 * the application's own work in place.
 *
 * A write remembers the job rows it reads (`JobRows`), so that putting one back updates only
 * the columns that changed; what it remembers is forgotten when its transaction (or its
 * savepoint in the application's) ends, whichever way. Reads remember nothing.
 *
 * @module
 */
import type { Database, SqlValue, Sqlite3Static } from '@sqlite.org/sqlite-wasm'
import { InvalidArgumentError, QueueClosedError, StorageError } from '../../core/errors.js'
import { unreadableOf } from '../../core/damaged.js'
import type { StoreBackend, StoreTx } from '../../core/store-backend.js'
import type { StoredJob } from '../../core/store.js'
import { storageError } from './errors.js'
import { JobRows, updateJobSql } from './job-rows.js'
import { batchFromRow, batchToRow, chainFromRow, chainToRow, jobFromRow, scheduleFromRow, scheduleToRow } from './rows.js'
import { Statements } from './statements.js'
import { SqliteTransaction } from './transaction.js'

/** An open database: what an opener returns. */
export interface Connection {
  sqlite3: Sqlite3Static
  db: Database
  /** Names the database in error messages. */
  where: string
  /** Closes the database and releases what guards it (a lock file). */
  close(): void
}

interface Open {
  conn: Connection
  statements: Statements
  /** The writes' transaction, which remembers the job rows it reads in `rows`. */
  tx: StoreTx
  rows: JobRows
  /** The reads' transaction, which remembers nothing. */
  readTx: StoreTx
}

export class SqliteBackend implements StoreBackend {
  readonly #opener: () => Promise<Connection>
  #open: Promise<Open> | undefined
  #tail: Promise<unknown> = Promise.resolve()
  #closed = false

  constructor(opener: () => Promise<Connection>) {
    this.#opener = opener
  }

  /** The open database; opens it on first use. A failed open is tried again by the next call. */
  ready(): Promise<Open> {
    if (this.#closed) return Promise.reject(new QueueClosedError('the store is closed'))
    this.#open ??= this.#connect().catch((err: unknown) => {
      this.#open = undefined
      throw storageError(err, 'opening the SQLite store')
    })
    return this.#open
  }

  async #connect(): Promise<Open> {
    const conn = await this.#opener()
    try {
      const statements = new Statements(conn.sqlite3, conn.db)
      const rows = new JobRows()
      return { conn, statements, tx: storeTx(statements, rows), rows, readTx: storeTx(statements, undefined) }
    } catch (err) {
      conn.close()
      throw err
    }
  }

  async write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> {
    if (opts?.tx !== undefined) return this.#joined(opts.tx, fn)
    return this.#exclusive(async (o) => this.#atomically(o, () => fn(o.tx)))
  }

  async read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#exclusive(async (o) => {
      try {
        return await fn(o.readTx)
      } catch (err) {
        throw storageError(err, o.conn.where)
      }
    })
  }

  /** Whether a transaction of `store.transaction()` committed. */
  committed(tx: unknown): Promise<boolean> {
    return tx instanceof SqliteTransaction ? tx.committed : Promise.resolve(false)
  }

  /** Runs `fn` in one transaction the application shares: see `SqliteStore.transaction`. */
  transaction<T>(fn: (tx: SqliteTransaction) => Promise<T> | T): Promise<T> {
    return this.#exclusive(async (o) => {
      const handle = new SqliteTransaction(o.conn.db, o.conn.where, o.tx, this)
      try {
        const out = await this.#atomically(o, async () => {
          try {
            return await fn(handle)
          } finally {
            // Dispatches the callback did not await still belong to this transaction.
            await handle.finish()
          }
        })
        handle.ended(true)
        return out
      } catch (err) {
        handle.ended(false)
        throw err
      }
    })
  }

  /** Closes after the calls already queued; later ones reject with `QueueClosedError`. */
  close(): Promise<void> {
    const run = this.#tail.then(async () => {
      if (this.#closed) return
      this.#closed = true
      const open = await this.#open?.catch(() => undefined)
      this.#open = undefined
      if (!open) return
      open.statements.finalize()
      open.conn.close()
    })
    this.#tail = run.catch(() => undefined)
    return run
  }

  #exclusive<T>(fn: (o: Open) => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      if (this.#closed) throw new QueueClosedError('the store is closed')
      return fn(await this.ready())
    })
    this.#tail = run.catch(() => undefined)
    return run
  }

  async #atomically<T>(o: Open, fn: () => Promise<T>): Promise<T> {
    const { db, sqlite3, where } = o.conn
    const s = o.statements
    try {
      s.control('begin')
      s.beginWrite()
      const out = await fn()
      s.endWrite()
      if (sqlite3.capi.sqlite3_get_autocommit(db) !== 0) {
        throw new StorageError(`${where}: SQLite rolled the transaction back after an error`)
      }
      s.control('commit')
      return out
    } catch (err) {
      s.endWrite()
      // SQLite may have rolled back already (a full disk, an I/O error during commit).
      if (sqlite3.capi.sqlite3_get_autocommit(db) === 0) {
        try {
          s.control('rollback')
        } catch {
          // Nothing more can be undone; the error below says what went wrong.
        }
      }
      throw storageError(err, where)
    } finally {
      o.rows.clear()
    }
  }

  #joined<T>(tx: unknown, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (!(tx instanceof SqliteTransaction) || tx.owner !== this || !tx.active) {
      const why = '{ tx } must be the SqliteTransaction given by store.transaction() of this store, inside its callback'
      return Promise.reject(new InvalidArgumentError(why))
    }
    return tx.serial(async (_db, storeTx) => {
      const o = await this.ready()
      const s = o.statements
      // The application's own SQL may change rows between ferry's writes: each write starts
      // knowing no row.
      o.rows.clear()
      // SQLite rolled the application's transaction back after an error (a full disk): a
      // savepoint now would begin a transaction of its own and commit this write alone.
      if (o.conn.sqlite3.capi.sqlite3_get_autocommit(o.conn.db) !== 0) {
        throw new StorageError(`${o.conn.where}: SQLite rolled this transaction back after an error; nothing more can be written in it`)
      }
      s.control('savepoint')
      s.beginWrite()
      try {
        const out = await fn(storeTx)
        s.endWrite()
        s.control('release')
        return out
      } catch (err) {
        s.endWrite()
        try {
          s.control('rollbackTo')
          s.control('release')
        } catch {
          // The whole transaction was rolled back; its commit will fail and say so.
        }
        throw storageError(err, 'the SQLite store')
      } finally {
        o.rows.clear()
      }
    })
  }
}

/**
 * The reads and writes of one transaction, over the connection's prepared statements. With
 * `rows`, the job rows read are remembered and a put of one of them updates only what changed.
 */
function storeTx(s: Statements, rows: JobRows | undefined): StoreTx {
  const json = (v: string[]): string => JSON.stringify(v)
  const job = rows ? rows.read : jobFromRow
  const putJob = (j: StoredJob): void => {
    if (!rows) throw new StorageError('a read transaction cannot write')
    const w = rows.put(j)
    try {
      if (w.kind === 'upsert') s.run('putJob', w.row)
      else if (w.kind === 'update') s.runSql(updateJobSql(w.columns), w.bind)
    } catch (err) {
      rows.forget(j.id)
      throw err
    }
  }
  return {
    getJob: async (id) => s.first('getJob', [id], job),
    getChain: async (id) => s.first('getChain', [id], chainFromRow),
    getBatch: async (id) => s.first('getBatch', [id], batchFromRow),
    batchJobIds: async (batchId) => s.all('batchJobIds', [batchId], (r) => r[0] as string),
    findUnique: async (key, now) => s.first('findUnique', [key, now], job),
    // Each (queue, type) read from the index of the order asked for, then merged in that order.
    ready: async ({ queues, types }, limit, order) => {
      if (limit <= 0) return []
      const byRunAt = order === 'runAt'
      const lists = queues.flatMap((q) => types.map((t) => s.all(byRunAt ? 'readyRunAt' : 'ready', [q, t, limit], job)))
      if (lists.length === 1) return lists[0] ?? []
      return lists
        .flat()
        .sort(byRunAt ? (a, b) => a.runAt - b.runAt || b.priority - a.priority || a.seq - b.seq : (a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq)
        .slice(0, limit)
    },
    due: async (queues, now, limit) => {
      if (limit <= 0) return []
      const due = queues.flatMap((q) => s.all('due', [q, now, limit], job)).sort((a, b) => a.runAt - b.runAt || a.seq - b.seq)
      // Then those whose run_at is text, after every number, as SQLite orders them.
      const text = due.length < limit ? queues.flatMap((q) => s.all('dueText', [q, limit - due.length], job)).sort((a, b) => a.seq - b.seq) : []
      return [...due, ...text].slice(0, limit)
    },
    expired: async (scope, now, limit, alive) =>
      alive
        ? s.all('expiredOrDead', [now, json(scope.queues), json(scope.types), limit, json(alive.owners), alive.asOf], job)
        : s.all('expired', [now, json(scope.queues), json(scope.types), limit], job),
    nextDue: async (queues) => {
      let min: number | undefined
      for (const q of queues) {
        const t = s.value('nextDue', [q])
        if (t !== undefined && Number.isFinite(t) && (min === undefined || t < min)) min = t
      }
      return min
    },
    nextExpiry: async (scope, now) => s.value('nextExpiry', [now, json(scope.queues), json(scope.types)]),
    listJobs: async (filter, now) => s.listJobs(filter, now, job),
    counts: async (now) => s.counts(now),
    finishedBefore: async (before, limit) => s.all('finishedBefore', [before, limit], job),
    // With the last page, the damaged groups not finished (at most `limit` of each), which
    // prune judges by their jobs: no index holds them, so the table is read.
    groupsFinishedBefore: async (before, limit) => {
      const chains = s.all('chainsFinishedBefore', [before, limit], chainFromRow)
      const batches = s.all('batchesFinishedBefore', [before, limit], batchFromRow)
      const damaged = <T extends object>(found: T[], name: 'chainsUnfinished' | 'batchesUnfinished', of: (r: SqlValue[]) => T): T[] =>
        found.length >= limit ? [] : s.all(name, [], of).filter((g) => unreadableOf(g) !== undefined).slice(0, limit)
      return {
        chains: [...chains, ...damaged(chains, 'chainsUnfinished', chainFromRow)],
        batches: [...batches, ...damaged(batches, 'batchesUnfinished', batchFromRow)],
      }
    },
    finished: async (queue, state, q) =>
      s.all(q.newest ? 'finishedNewest' : 'finishedOldest', [state, q.before ?? Number.MAX_VALUE, q.limit, q.offset ?? 0, queue], job),
    finishedCount: async (queue, state) => Number(s.value('finishedCount', [queue, state]) ?? 0),
    getSchedule: async (name) => s.first('getSchedule', [name], scheduleFromRow),
    listSchedules: async () => s.all('listSchedules', [], scheduleFromRow),
    dueSchedules: async (now, limit) => s.all('dueSchedules', [now, limit], scheduleFromRow),
    nextScheduleAt: async () => {
      const t = s.value('nextScheduleAt', [])
      return t !== undefined && Number.isFinite(t) ? t : undefined
    },
    nextSeq: async (count = 1) => {
      if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`nextSeq(count): count must be a positive integer, not ${count}`)
      const seq = s.value('nextSeq', [count])
      if (seq === undefined) throw new StorageError('the ferry_meta table has lost its seq row')
      return seq
    },
    putJob: async (j) => putJob(j),
    putChain: async (c) => s.run('putChain', chainToRow(c)),
    putBatch: async (b) => s.run('putBatch', batchToRow(b)),
    deleteJob: async (id) => {
      rows?.forget(id)
      s.run('deleteJob', [id])
    },
    deleteChain: async (id) => s.run('deleteChain', [id]),
    deleteBatch: async (id) => s.run('deleteBatch', [id]),
    putSchedule: async (sc) => s.run('putSchedule', scheduleToRow(sc)),
    deleteSchedule: async (name) => s.run('deleteSchedule', [name]),
  }
}
