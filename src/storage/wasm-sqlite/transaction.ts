/**
 * `SqliteTransaction`: the application's handle on a transaction of ferry's connection, for
 * transactional enqueue. Its SQL and the jobs dispatched with `{ tx }` commit together or not
 * at all.
 *
 * @module
 */
import type { Database, SqlValue } from '@sqlite.org/sqlite-wasm'
import { InvalidArgumentError } from '../../core/errors.js'
import { storageError } from './errors.js'

export type { SqlValue }

export class SqliteTransaction {
  readonly #db: Database
  readonly #where: string
  #active = true
  #tail: Promise<unknown> = Promise.resolve()

  /** @internal made by `SqliteStore.transaction` only */
  constructor(db: Database, where: string) {
    this.#db = db
    this.#where = where
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

  /** @internal Runs ferry's writes in this transaction one after another. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    this.#mustBeActive()
    const run = this.#tail.then(fn, fn)
    this.#tail = run.catch(() => undefined)
    return run
  }

  /** @internal */
  end(): void {
    this.#active = false
  }

  #mustBeActive(): void {
    if (!this.#active) throw new InvalidArgumentError('this transaction has ended: use the tx only inside its callback')
  }
}
