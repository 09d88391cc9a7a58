/**
 * `SqliteTransaction`: the application's handle on a transaction of ferry's connection, for
 * transactional enqueue. Its SQL and the jobs dispatched with `{ tx }` commit together or not
 * at all.
 *
 * @module
 */
import type { Database, SqlValue } from '@sqlite.org/sqlite-wasm'
import { InvalidArgumentError } from '../../core/errors.js'
import type { StoreTx } from '../../core/store-backend.js'
import { storageError } from './errors.js'

export type { SqlValue }

export class SqliteTransaction {
  readonly #db: Database
  readonly #where: string
  readonly #storeTx: StoreTx
  /** @internal the backend whose transaction this is */
  readonly owner: object
  #active = true
  #tail: Promise<unknown> = Promise.resolve()
  #end!: (committed: boolean) => void
  /** @internal resolves true once the transaction has committed, false once it rolled back */
  readonly committed = new Promise<boolean>((resolve) => (this.#end = resolve))

  /** @internal made by `SqliteStore.transaction` only */
  constructor(db: Database, where: string, storeTx: StoreTx, owner: object) {
    this.#db = db
    this.#where = where
    this.#storeTx = storeTx
    this.owner = owner
  }

  /** False once the transaction has committed or rolled back. */
  get active(): boolean {
    return this.#active
  }

  /**
   * Runs SQL in the transaction (several statements may be separated by `;`; `bind` applies to
   * the first) and returns the number of rows it changed.
   * @example tx.exec('INSERT INTO orders (id, total) VALUES (?, ?)', [id, total])
   */
  exec(sql: string, bind?: readonly SqlValue[]): number {
    this.#mustBeActive()
    try {
      this.#db.exec(bind === undefined || bind.length === 0 ? { sql } : { sql, bind })
      return this.#db.changes()
    } catch (err) {
      throw storageError(err, this.#where)
    }
  }

  /**
   * The rows of a query, as objects keyed by column name.
   * @example const [order] = tx.query<{ total: number }>('SELECT total FROM orders WHERE id = ?', [id])
   */
  query<T = Record<string, SqlValue>>(sql: string, bind?: readonly SqlValue[]): T[] {
    this.#mustBeActive()
    try {
      return this.#db.selectObjects(sql, bind === undefined || bind.length === 0 ? undefined : bind) as T[]
    } catch (err) {
      throw storageError(err, this.#where)
    }
  }

  /**
   * @internal Runs ferry's writes in this transaction one after another. Queued at once, in the
   * call that dispatches, so that `finish` knows of every write the callback started.
   */
  serial<T>(fn: (db: Database, tx: StoreTx) => Promise<T>): Promise<T> {
    this.#mustBeActive()
    const step = (): Promise<T> => {
      this.#mustBeActive()
      return fn(this.#db, this.#storeTx)
    }
    const run = this.#tail.then(step, step)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /**
   * @internal Waits for ferry's writes still running in this transaction, then ends it, so that
   * none of them runs on after the commit or rollback (outside any transaction).
   */
  async finish(): Promise<void> {
    for (;;) {
      const tail = this.#tail
      await tail
      if (tail === this.#tail) break
    }
    this.#active = false
  }

  /** @internal called by the backend once the transaction has committed or rolled back */
  ended(committed: boolean): void {
    this.#end(committed)
  }

  #mustBeActive(): void {
    if (!this.#active) throw new InvalidArgumentError('this transaction has ended: use the tx only inside its callback')
  }
}
