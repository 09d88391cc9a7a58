/**
 * `idbStore()`: the Store over IndexedDB.
 *
 * @module
 */
import { defineStore } from '../../core/define-store.js'
import { InvalidArgumentError } from '../../core/errors.js'
import { platformLocks, webLocksLiveness, type WebLocks } from '../../core/liveness.js'
import type { Store } from '../../core/store.js'
import type { StoreBackend } from '../../core/store-backend.js'
import type { AppDatabase } from './app-database.js'
import { IdbBackend } from './backend.js'
import { broadcastShare } from './broadcast.js'
import { Connection } from './connection.js'
import { MIGRATIONS } from './schema.js'

export interface IdbStoreOptions {
  /**
   * The database ferry creates and owns, with its own schema versions. Stores of the same name
   * share their jobs: tabs, workers and engines of one origin may each open one.
   * @default 'ferry'
   */
  name?: string
  /**
   * Keep ferry's stores in the application's own database instead, for transactional enqueue
   * (`dispatch(spec, { tx })`). Returns the application's connection (raw or from `idb`), whose
   * `upgrade` callback calls `upgradeFerryStores`. The store never closes this connection; it
   * calls `open` again when the connection it had was closed, so return the current one.
   * @example idbStore({ open: () => appDb }) // appDb: the app's memoised openDB(...) promise
   */
  open?: () => AppDatabase | Promise<AppDatabase>
}

/**
 * A Store in IndexedDB: jobs survive reloads and restarts, and every tab and worker of the
 * origin that opens the same database shares them.
 * @example
 * const queue = createQueue({ store: idbStore({ name: 'outbox' }) })
 */
export function idbStore(o: IdbStoreOptions = {}): Store {
  if (o.open !== undefined && o.name !== undefined) {
    throw new InvalidArgumentError('idbStore: give either name (a database ferry owns) or open (your database), not both')
  }
  if (o.open !== undefined && typeof o.open !== 'function') throw new InvalidArgumentError('idbStore: open must be a function')
  const conn = new Connection(o.open ? { open: o.open } : { name: o.name ?? 'ferry', migrations: MIGRATIONS })
  const backend = new IdbBackend(conn)
  const share = broadcastShare(`ferry:idb:${o.open ? 'app' : (o.name ?? 'ferry')}`)
  const locks = browserLocks()
  const store: StoreBackend = {
    write: (fn, opts) => backend.write(fn, opts),
    read: (fn) => backend.read(fn),
    committed: (tx) => backend.committed(tx),
    close: async () => {
      share.close()
      await backend.close()
    },
    share,
  }
  return defineStore(store, locks ? { liveness: webLocksLiveness(locks) } : {})
}

/**
 * Web Locks that see every context the database is shared with: a browser's, where the tabs
 * and workers of the origin share both. Not Node's: its locks are per process, while an
 * IndexedDB there is a polyfill that several processes may share (one over a file), whose
 * engines would all look dead. Without them a dead engine's jobs wait for their leases to end.
 */
function browserLocks(): WebLocks | undefined {
  const g = globalThis as { process?: { versions?: { node?: unknown } }; document?: unknown; WorkerGlobalScope?: unknown }
  const node = g.process?.versions?.node !== undefined && g.document === undefined && g.WorkerGlobalScope === undefined
  return node ? undefined : platformLocks()
}
