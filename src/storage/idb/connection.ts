/**
 * The store's connection to its database: opened on first use, dropped when something outside
 * closes it, and opened again by the next call.
 *
 * A database ferry owns is opened at ferry's schema version and migrated on the way. When
 * another connection asks to upgrade or delete it (`versionchange`: another tab with a newer
 * ferry, a reset), this connection closes at once so the other is not blocked; when the browser
 * closes it (storage cleared), it is dropped. Either way the next call reconnects, and if the
 * database is now newer than this ferry it rejects with `SCHEMA_TOO_NEW` instead of hanging.
 *
 * An application's database (`idbStore({ open })`) belongs to the application: the store checks
 * that ferry's stores are there at its schema, never closes the connection, and calls `open`
 * again once the connection it had is closed.
 *
 * @module
 */
import { openDB, type IDBPTransaction } from 'idb'
import { StorageError } from '../../core/errors.js'
import { asFerryDatabase, type AppDatabase } from './app-database.js'
import { closedError, isClosedConnection, toStoreError } from './errors.js'
import { SCHEMA_VERSION, STORES, ferryStoreNames, migrate, tooNew, type FerryDB, type FerryDatabase, type FerryStoreName, type Migration } from './schema.js'
import type { FerryTx } from './store-tx.js'

export type DatabaseSource =
  | { name: string; migrations: readonly Migration[] }
  | { open: () => AppDatabase | Promise<AppDatabase> }

export class Connection {
  readonly #source: DatabaseSource
  #pending: Promise<FerryDatabase> | undefined
  #opening: Promise<AppDatabase> | undefined
  #current: FerryDatabase | undefined
  #name: string

  constructor(source: DatabaseSource) {
    this.#source = source
    this.#name = 'name' in source ? source.name : '(application database)'
  }

  /** The database's name, once known. */
  get name(): string {
    return this.#name
  }

  /** The database's name if it is known without connecting. */
  get knownName(): string | undefined {
    return 'name' in this.#source || this.#current ? this.#name : undefined
  }

  /**
   * The database's name, asking the application's `open()` if it is not known yet. Runs no
   * transaction and does not connect.
   */
  async resolveName(): Promise<string> {
    const known = this.knownName
    if (known !== undefined) return known
    return asFerryDatabase(await this.#appDatabase()).name
  }

  /** What the application's `open()` gave, asked for once per connection. */
  #appDatabase(): Promise<AppDatabase> {
    const source = this.#source
    if (!('open' in source)) throw new Error('a store by name opens its own database')
    const opening = (this.#opening ??= Promise.resolve().then(() => source.open()))
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = undefined
    })
    return opening
  }

  database(): Promise<FerryDatabase> {
    this.#pending ??= this.#connect().then(
      (db) => {
        this.#current = db
        this.#name = db.name
        return db
      },
      (err: unknown) => {
        this.#pending = undefined
        throw err
      },
    )
    return this.#pending
  }

  /** A new transaction over ferry's stores, on a fresh connection if the last one was closed. */
  async transaction(mode: IDBTransactionMode): Promise<{ tx: FerryTx; db: FerryDatabase }> {
    for (let tries = 0; ; tries++) {
      const db = await this.database()
      try {
        return { tx: db.transaction([...ferryStoreNames], mode) as unknown as FerryTx, db }
      } catch (err) {
        if (!isClosedConnection(err)) throw toStoreError(err, db.name)
        this.#forget(db)
        if (tries > 0) throw closedError(db.name, err)
      }
    }
  }

  /** True when `db` was closed from outside since it was handed out. */
  lost(db: FerryDatabase): boolean {
    return this.#current !== db
  }

  async close(): Promise<void> {
    const db = await this.#pending?.catch(() => undefined)
    this.#pending = undefined
    this.#opening = undefined
    this.#current = undefined
    // An application's connection is the application's to close.
    if (db && 'name' in this.#source) db.close()
  }

  #forget(db: FerryDatabase): void {
    if (this.#current !== db) return
    this.#current = undefined
    this.#pending = undefined
    this.#opening = undefined
  }

  async #connect(): Promise<FerryDatabase> {
    const source = this.#source
    const db = 'name' in source ? await openOwn(source.name, source.migrations) : await openApp(() => this.#appDatabase())
    if ('name' in source) {
      db.addEventListener('versionchange', () => {
        db.close()
        this.#forget(db)
      })
    }
    db.addEventListener('close', () => this.#forget(db))
    return db
  }
}

async function openOwn(name: string, migrations: readonly Migration[]): Promise<FerryDatabase> {
  let upgradeError: unknown
  let blocked: (err: StorageError) => void = () => undefined
  const whenBlocked = new Promise<never>((_resolve, reject) => (blocked = reject))
  const opening = openDB<FerryDB>(name, migrations.length, {
    upgrade(db, old, _new, tx) {
      // A database of this name that ferry did not create is not turned into ferry's.
      if (old > 0 && !db.objectStoreNames.contains(STORES.meta)) {
        upgradeError = notFerrys(name, old)
        tx.done.catch(() => undefined)
        tx.abort()
        return
      }
      migrate(db, tx, migrations).catch((err: unknown) => (upgradeError = err))
    },
    blocked(current) {
      blocked(
        new StorageError(
          `IndexedDB database "${name}" cannot be upgraded: another connection holds version ${current} open and does not close`,
          { code: 'DATABASE_BLOCKED' },
        ),
      )
    },
  })
  let db: FerryDatabase
  try {
    db = await Promise.race([opening, whenBlocked])
  } catch (err) {
    // Given up on: a connection that opens later is closed at once.
    opening.then((db) => db.close(), () => undefined)
    if (upgradeError !== undefined) throw toStoreError(upgradeError, name)
    if ((err as { name?: unknown }).name === 'VersionError') throw tooNew(name, await versionOf(name), migrations.length)
    throw toStoreError(err, name)
  }
  const missing = ferryStoreNames.filter((n) => !db.objectStoreNames.contains(n))
  if (missing.length > 0) {
    db.close()
    throw notFerrys(name, db.version)
  }
  return db
}

function notFerrys(name: string, version: number): StorageError {
  return new StorageError(`IndexedDB database "${name}" is at version ${version} but has no ferry stores: it is not ferry's; give idbStore another name`, {
    code: 'SCHEMA_MISSING',
  })
}

/** The version of a database as it is, without creating or upgrading it; undefined if it is gone. */
async function versionOf(name: string): Promise<number | undefined> {
  try {
    const db = await openDB(name, undefined, {
      // Deleted since: create nothing.
      upgrade: (_db, _old, _new, tx) => tx.abort(),
    })
    const v = db.version
    db.close()
    return v
  } catch {
    return undefined
  }
}

async function openApp(open: () => AppDatabase | Promise<AppDatabase>): Promise<FerryDatabase> {
  const db = asFerryDatabase(await open())
  const missing = ferryStoreNames.filter((n) => !db.objectStoreNames.contains(n))
  if (missing.length > 0) throw notReady(db.name, `lacks ferry's stores (${missing.join(', ')})`)
  try {
    await checkSchema(db.transaction([STORES.meta], 'readonly'))
  } catch (err) {
    throw toStoreError(err, db.name)
  }
  return db
}

/** Throws unless ferry's stores in the transaction's database are at this ferry's schema. */
export async function checkSchema(tx: IDBPTransaction<FerryDB, FerryStoreName[], IDBTransactionMode>): Promise<void> {
  const version = (await tx.objectStore(STORES.meta).get('schema')) ?? 0
  if (version > SCHEMA_VERSION) throw tooNew(tx.db.name, version, SCHEMA_VERSION)
  if (version < SCHEMA_VERSION) throw notReady(tx.db.name, `holds ferry schema ${version}, this ferry needs ${SCHEMA_VERSION}`)
}

function notReady(name: string, what: string): StorageError {
  return new StorageError(
    `IndexedDB database "${name}" ${what}: raise the database's version and call upgradeFerryStores(db, tx) in its upgrade callback`,
    { code: 'SCHEMA_MISSING' },
  )
}
