/**
 * ferry's stores in the application's own database, for transactional enqueue: the application
 * writes its records and ferry's jobs in one IndexedDB transaction, so the job exists exactly
 * when the data does.
 *
 * The application creates ferry's stores from its `upgrade` callback with `upgradeFerryStores`,
 * gives `idbStore` its connection (`idbStore({ open })`), and passes a `readwrite` transaction
 * over its stores and `ferryStoreNames` to `dispatch(spec, { tx })`. Raw IndexedDB objects and
 * `idb`'s wrappers are both accepted.
 *
 * @module
 */
import { unwrap, wrap, type IDBPDatabase, type IDBPTransaction } from 'idb'
import { InvalidArgumentError } from '../../core/errors.js'
import { MIGRATIONS, ferryStoreNames, migrate, type FerryDatabase, type UpgradeTx } from './schema.js'
import type { FerryTx } from './store-tx.js'

/** A database connection: IndexedDB's own, or one from `idb`'s `openDB`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AppDatabase = IDBDatabase | IDBPDatabase<any>
/** A transaction: IndexedDB's own, or one from `idb`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AppTransaction = IDBTransaction | IDBPTransaction<any, any, any>

/**
 * Creates ferry's object stores and indexes in the application's database, or brings them to
 * the schema of this ferry. Call it from the database's `upgrade` callback, with the upgrade
 * transaction; every version bump of the application's database should call it, so that a
 * newer ferry can migrate its stores then.
 *
 * It refuses ferry stores written by a newer ferry (`StorageError`, code `SCHEMA_TOO_NEW`) and
 * on any failure aborts the upgrade, so the database is left as it was and `openDB` rejects.
 * The returned promise settles when ferry's part of the upgrade is done; awaiting it is optional.
 *
 * @example
 * const db = await openDB('my-app', 2, {
 *   upgrade(db, oldVersion, _newVersion, tx) {
 *     if (oldVersion < 1) db.createObjectStore('photos', { keyPath: 'id' })
 *     void upgradeFerryStores(db, tx)
 *   },
 * })
 */
export function upgradeFerryStores(db: AppDatabase, tx: AppTransaction): Promise<void> {
  const done = migrate(asWrapped(db) as FerryDatabase, asWrapped(tx) as unknown as UpgradeTx, MIGRATIONS)
  // Failures abort the upgrade, which is how the caller hears of them: not awaiting is fine.
  done.catch(() => undefined)
  return done
}

/** The `idb` wrapper of a raw object or of a wrapper. */
function asWrapped(x: AppDatabase): IDBPDatabase
function asWrapped(x: AppTransaction): IDBPTransaction<unknown, string[], IDBTransactionMode>
function asWrapped(x: AppDatabase | AppTransaction): IDBPDatabase | IDBPTransaction<unknown, string[], IDBTransactionMode> {
  // `unwrap` knows only wrappers; a raw object comes back undefined.
  const raw = (unwrap(x as IDBPDatabase) as IDBDatabase | IDBTransaction | undefined) ?? (x as IDBDatabase | IDBTransaction)
  if (raw instanceof IDBDatabase) return wrap(raw)
  return wrap(raw)
}

export function asFerryDatabase(db: AppDatabase): FerryDatabase {
  if (!isDatabase(db)) throw new InvalidArgumentError('idbStore({ open }): open() must return an IDBDatabase or an idb database')
  return asWrapped(db) as FerryDatabase
}

function isDatabase(x: unknown): x is AppDatabase {
  return typeof IDBDatabase !== 'undefined' && x instanceof IDBDatabase
}

/**
 * The caller's transaction for `dispatch(spec, { tx })`, checked synchronously: a `readwrite`
 * transaction that covers every ferry store, of the store's database when its name is known.
 */
export function joinTransaction(tx: unknown, dbName: string | undefined): FerryTx {
  if (typeof IDBTransaction === 'undefined' || !(tx instanceof IDBTransaction)) {
    throw new InvalidArgumentError('{ tx } must be an IndexedDB transaction (IDBTransaction, or one from idb)')
  }
  const wrapped = asWrapped(tx as AppTransaction)
  if (wrapped.mode !== 'readwrite') throw new InvalidArgumentError(`{ tx } must be a readwrite transaction, not ${wrapped.mode}`)
  if (dbName !== undefined && wrapped.db.name !== dbName) {
    throw new InvalidArgumentError(`{ tx } belongs to database "${wrapped.db.name}", but this store keeps its jobs in "${dbName}"`)
  }
  const missing = ferryStoreNames.filter((n) => !wrapped.objectStoreNames.contains(n))
  if (missing.length > 0) {
    throw new InvalidArgumentError(`{ tx } must include ferry's stores (ferryStoreNames); it lacks ${missing.join(', ')}`)
  }
  return wrapped as unknown as FerryTx
}
