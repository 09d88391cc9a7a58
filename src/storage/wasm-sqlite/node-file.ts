/**
 * Opening a durable database file in Node: the lock file, the Node VFS, then the pragmas that
 * make it safe and fast. Node only; loaded by a dynamic import so browser bundles never see
 * `node:fs`.
 *
 * - `locking_mode=EXCLUSIVE` first: the VFS has no shared memory, and WAL without it needs the
 *   connection to hold the file exclusively (otherwise `journal_mode=WAL` stays `delete`
 *   without a word, so the answer is checked).
 * - `journal_mode=WAL`: a commit appends to the WAL, and with `synchronous=NORMAL` syncs only at
 *   checkpoints. A crash may lose the last commits before a sync, never corrupt the file.
 *   `synchronous=FULL` syncs the WAL at every commit: nothing acknowledged is ever lost.
 * - A database newer than this code is refused before anything is written to it.
 * - The VFS asks the lock before changing any file (`setWriteGuard`): an owner whose lock was
 *   taken over while its event loop was blocked gets I/O errors instead of writing over the
 *   new owner, and leaves the new owner's WAL alone when it closes.
 *
 * @module
 */
import { StorageError } from '../../core/errors.js'
import type { Connection } from './backend.js'
import { acquireLock } from './lock-file.js'
import { installNodeVfs, realPath, setWriteGuard } from './node-vfs.js'
import { assertKnownVersion, migrate } from './schema.js'
import { loadSqlite } from './sqlite.js'

export async function openNodeFile(file: string, synchronous: 'normal' | 'full'): Promise<Connection> {
  const sqlite3 = await loadSqlite()
  // Symlinks resolved: the lock and the WAL are named after the file itself.
  const abs = realPath(file)
  const where = `the SQLite store at ${abs}`
  const lock = acquireLock(abs)
  setWriteGuard(abs, lock.check)
  const release = (): void => {
    setWriteGuard(abs, undefined)
    lock.release()
  }
  let db: InstanceType<typeof sqlite3.oo1.DB> | undefined
  try {
    db = new sqlite3.oo1.DB({ filename: abs, flags: 'c', vfs: installNodeVfs(sqlite3) })
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    assertKnownVersion(db, where)
    const mode = db.selectValue('PRAGMA journal_mode = WAL', undefined, sqlite3.capi.SQLITE_TEXT)
    if (mode !== 'wal') throw new StorageError(`${where}: journal_mode=WAL did not take (SQLite kept ${mode ?? 'nothing'})`)
    // journal_size_limit: after a checkpoint the WAL is cut back to 64 MiB instead of keeping
    // the largest size it ever reached.
    db.exec(`PRAGMA synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864`)
    migrate(db, where)
  } catch (err) {
    db?.close()
    release()
    throw err
  }
  const opened = db
  return {
    sqlite3,
    db: opened,
    where,
    close() {
      try {
        opened.close()
      } finally {
        release()
      }
    },
  }
}
