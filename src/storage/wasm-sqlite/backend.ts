/**
 * `SqliteBackend`: the `StoreBackend` over one SQLite connection. `defineStore` turns it into a
 * Store; all the rules live in core.
 *
 * One connection, one transaction at a time: calls queue behind each other, and each write is
 * `BEGIN IMMEDIATE` ... `COMMIT` (or `ROLLBACK` when it throws). A write given `{ tx }` joins
 * the application's transaction instead, inside a savepoint so that a failed dispatch leaves
 * the application's own work in place.
 *
 * @module
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm'
import { InvalidArgumentError, QueueClosedError, StorageError } from '../../core/errors.js'
import type { StoreBackend, StoreTx } from '../../core/store-backend.js'
import { storageError } from './errors.js'
import {
  batchFromRow,
  batchToRow,
  chainFromRow,
  chainToRow,
  jobFromRow,
  jobToRow,
  scheduleFromRow,
  scheduleToRow,
} from './rows.js'
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
  tx: StoreTx
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
      const statements = new Statements(conn.db)
      return { conn, statements, tx: storeTx(statements) }
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
        return await fn(o.tx)
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
    try {
      db.exec('BEGIN IMMEDIATE')
      const out = await fn()
      if (sqlite3.capi.sqlite3_get_autocommit(db) !== 0) {
        throw new StorageError(`${where}: SQLite rolled the transaction back after an error`)
      }
      db.exec('COMMIT')
      return out
    } catch (err) {
      // SQLite may have rolled back already (a full disk, an I/O error during commit).
      if (sqlite3.capi.sqlite3_get_autocommit(db) === 0) {
        try {
          db.exec('ROLLBACK')
        } catch {
          // Nothing more can be undone; the error below says what went wrong.
        }
      }
      throw storageError(err, where)
    }
  }

  #joined<T>(tx: unknown, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    if (!(tx instanceof SqliteTransaction) || tx.owner !== this || !tx.active) {
      const why = '{ tx } must be the SqliteTransaction given by store.transaction() of this store, inside its callback'
      return Promise.reject(new InvalidArgumentError(why))
    }
    return tx.serial(async (db, storeTx) => {
      db.exec('SAVEPOINT ferry_write')
      try {
        const out = await fn(storeTx)
        db.exec('RELEASE ferry_write')
        return out
      } catch (err) {
        try {
          db.exec('ROLLBACK TO ferry_write; RELEASE ferry_write')
        } catch {
          // The whole transaction was rolled back; its commit will fail and say so.
        }
        throw storageError(err, 'the SQLite store')
      }
    })
  }
}

/** The reads and writes of one transaction, over the connection's prepared statements. */
function storeTx(s: Statements): StoreTx {
  const json = (v: string[]): string => JSON.stringify(v)
  return {
    getJob: async (id) => s.first('getJob', [id], jobFromRow),
    getChain: async (id) => s.first('getChain', [id], chainFromRow),
    getBatch: async (id) => s.first('getBatch', [id], batchFromRow),
    findUnique: async (key, now) => s.first('findUnique', [key, now], jobFromRow),
    ready: async ({ queues, types }, limit) => {
      if (limit <= 0) return []
      const lists = queues.flatMap((q) => types.map((t) => s.all('ready', [q, t, limit], jobFromRow)))
      if (lists.length === 1) return lists[0] ?? []
      return lists
        .flat()
        .sort((a, b) => b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq)
        .slice(0, limit)
    },
    due: async (queues, now, limit) => {
      if (limit <= 0) return []
      return queues
        .flatMap((q) => s.all('due', [q, now, limit], jobFromRow))
        .sort((a, b) => a.runAt - b.runAt || a.seq - b.seq)
        .slice(0, limit)
    },
    expired: async (scope, now, limit, alive) =>
      alive
        ? s.all('expiredOrDead', [now, json(scope.queues), json(scope.types), limit, json(alive.owners), alive.asOf], jobFromRow)
        : s.all('expired', [now, json(scope.queues), json(scope.types), limit], jobFromRow),
    nextDue: async (queues) => {
      let min: number | undefined
      for (const q of queues) {
        const t = s.value('nextDue', [q])
        if (t !== undefined && (min === undefined || t < min)) min = t
      }
      return min
    },
    nextExpiry: async (scope, now) => s.value('nextExpiry', [now, json(scope.queues), json(scope.types)]),
    listJobs: async (filter) => s.listJobs(filter, jobFromRow),
    counts: async (now) => s.counts(now),
    finishedBefore: async (before, limit) => s.all('finishedBefore', [before, limit], jobFromRow),
    groupsFinishedBefore: async (before, limit) => ({
      chains: s.all('chainsFinishedBefore', [before, limit], chainFromRow),
      batches: s.all('batchesFinishedBefore', [before, limit], batchFromRow),
    }),
    getSchedule: async (name) => s.first('getSchedule', [name], scheduleFromRow),
    listSchedules: async () => s.all('listSchedules', [], scheduleFromRow),
    dueSchedules: async (now, limit) => s.all('dueSchedules', [now, limit], scheduleFromRow),
    nextScheduleAt: async () => s.value('nextScheduleAt', []),
    nextSeq: async () => {
      const seq = s.value('nextSeq', [])
      if (seq === undefined) throw new StorageError('the ferry_meta table has lost its seq row')
      return seq
    },
    putJob: async (j) => s.run('putJob', jobToRow(j)),
    putChain: async (c) => s.run('putChain', chainToRow(c)),
    putBatch: async (b) => s.run('putBatch', batchToRow(b)),
    deleteJob: async (id) => s.run('deleteJob', [id]),
    deleteChain: async (id) => s.run('deleteChain', [id]),
    deleteBatch: async (id) => s.run('deleteBatch', [id]),
    putSchedule: async (sc) => s.run('putSchedule', scheduleToRow(sc)),
    deleteSchedule: async (name) => s.run('deleteSchedule', [name]),
  }
}
