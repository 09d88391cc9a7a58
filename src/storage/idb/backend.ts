/**
 * `StoreBackend` over IndexedDB: one transaction per call, over all of ferry's stores.
 *
 * A call's operation runs inside its transaction and awaits only IndexedDB requests, so the
 * transaction commits as soon as the operation is done; the call resolves once the commit is
 * reported. If the operation throws, the transaction is aborted and nothing it wrote remains.
 * Overlapping read-write transactions are serialised by IndexedDB itself, also across tabs and
 * workers on the same origin, so a claim is atomic wherever the competing engine runs.
 *
 * With `{ tx }` (transactional enqueue) the operation runs in the caller's transaction and the
 * call resolves without waiting for it to commit: the caller commits it, or aborts it. A
 * transaction refused before ferry writes anything (another database, ferry's stores at another
 * schema, a store still connecting) is left as it was, whether or not the store has connected.
 * If ferry's part fails once it has begun, the caller's transaction is aborted, since what
 * ferry wrote before the failure could not be taken back otherwise.
 *
 * @module
 */
import type { StoreBackend, StoreReadTx, StoreTx } from '../../core/store-backend.js'
import { joinTransaction } from './app-database.js'
import { InvalidArgumentError, StorageError } from '../../core/errors.js'
import { checkSchema, type Connection } from './connection.js'
import { closedError, inactive, isConnectionLoss, toStoreError } from './errors.js'
import { storeTx, type FerryTx, type IdbStoreTx } from './store-tx.js'

export class IdbBackend implements StoreBackend {
  readonly #conn: Connection

  constructor(conn: Connection) {
    this.#conn = conn
  }

  async write<T>(fn: (tx: StoreTx) => Promise<T>, opts?: { tx?: unknown }): Promise<T> {
    if (opts?.tx !== undefined) return this.#joined(fn, opts.tx)
    return this.#run('readwrite', fn)
  }

  read<T>(fn: (tx: StoreReadTx) => Promise<T>): Promise<T> {
    return this.#run('readonly', fn)
  }

  /** Whether the caller's transaction (from `idb` or raw) commits or aborts. */
  committed(given: unknown): Promise<boolean> {
    const wrapped = given as { done?: unknown }
    if (wrapped.done instanceof Promise) return wrapped.done.then(() => true, () => false)
    const raw = given as IDBTransaction
    return new Promise((resolve) => {
      raw.addEventListener('complete', () => resolve(true))
      raw.addEventListener('abort', () => resolve(false))
    })
  }

  close(): Promise<void> {
    return this.#conn.close()
  }

  async #run<T>(mode: IDBTransactionMode, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    const { tx, db } = await this.#conn.transaction(mode)
    const done = tx.done
    // Heard below; without this an abort while `fn` runs would be an unhandled rejection.
    done.catch(() => undefined)
    const failure = (err: unknown): unknown => {
      if (!isConnectionLoss(err)) return toStoreError(err, db.name)
      if (this.#conn.lost(db)) return closedError(db.name, err)
      // A queued write failed and aborted the transaction: its error is the news.
      return toStoreError(tx.error ?? err, db.name)
    }
    let result: T
    try {
      const stx = storeTx(tx)
      result = await fn(stx)
      await stx.flush()
    } catch (err) {
      abort(tx)
      await done.catch(() => undefined)
      // The failed request's own error says more than the transaction's AbortError.
      throw failure(err)
    }
    try {
      await done
    } catch (err) {
      // A commit that failed (the quota) or a transaction aborted by a closing connection.
      throw failure(err)
    }
    return result
  }

  async #joined<T>(fn: (tx: StoreTx) => Promise<T>, given: unknown): Promise<T> {
    // Nothing but the caller's own requests may be awaited before ferry's first request, or
    // the caller's transaction commits under it: no connecting here, the checks are synchronous
    // and the schema is read inside the transaction.
    const known = this.#conn.knownName
    const tx = joinTransaction(given, known)
    const name = tx.db.name
    // A store on the application's database (`{ open }`) that has not connected yet knows its
    // database only from open(). Ask now: open() returning the application's open connection
    // answers within microtasks, before the schema read below comes back. One that is still
    // connecting (an upgrade, maybe one this very transaction holds up) is not waited for: the
    // caller's transaction is not held open for the store's own connection.
    let answer: { name: string } | { error: unknown } | undefined
    if (known === undefined) {
      this.#conn.resolveName().then(
        (mine) => (answer = { name: mine }),
        (error: unknown) => (answer = { error }),
      )
    }
    let stx: IdbStoreTx
    // Refused before ferry writes anything: the caller's transaction is left as it was.
    try {
      try {
        stx = storeTx(tx)
      } catch (err) {
        throw isConnectionLoss(err) ? inactive(name, err) : err
      }
      await checkSchema(tx)
      if (known === undefined) {
        if (answer === undefined) throw opening(name)
        if ('error' in answer) throw answer.error
        if (answer.name !== name) throw new InvalidArgumentError(`{ tx } belongs to database "${name}", but this store keeps its jobs in "${answer.name}"`)
      }
    } catch (err) {
      throw toStoreError(err, name)
    }
    try {
      const result = await fn(stx)
      await stx.flush()
      return result
    } catch (err) {
      // What ferry wrote so far cannot be taken back otherwise.
      abort(tx)
      throw toStoreError(isConnectionLoss(err) && tx.error ? tx.error : err, name)
    }
  }
}

function opening(txDatabase: string): StorageError {
  return new StorageError(
    `idbStore({ open }): open() has not returned yet, so the store cannot tell whether { tx } (of database "${txDatabase}") is of its database; ` +
      'nothing was written and the transaction was left as it was. Have open() return your open connection, or let the store connect first (any call, e.g. queue.counts())',
    { code: 'DATABASE_OPENING' },
  )
}

function abort(tx: FerryTx): void {
  try {
    tx.abort()
  } catch {
    // Finished already (aborted by the failed request, or committed).
  }
}
