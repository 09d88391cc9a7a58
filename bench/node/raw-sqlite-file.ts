/**
 * Opening the raw SQLite ceiling in Node the way ferry's store opens its database: in memory,
 * or a file through ferry's node:fs VFS with EXCLUSIVE locking, WAL and the same synchronous.
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import type { Database } from '@sqlite.org/sqlite-wasm'
import { installNodeVfs } from '../../src/storage/wasm-sqlite/node-vfs.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'
import { RAW_SCHEMA } from '../lib/raw-sqlite.js'

export type RawSqliteKind = 'memory' | 'file-normal' | 'file-full'

let files = 0

export function openRawSqlite(kind: RawSqliteKind, dir: string): () => Promise<Database> {
  return async () => {
    const sqlite3 = await loadSqlite()
    if (kind === 'memory') {
      const db = new sqlite3.oo1.DB(':memory:', 'c')
      db.exec(RAW_SCHEMA)
      return db
    }
    const filename = joinPath(dir, `raw-${process.pid}-${files++}.db`)
    const db = new sqlite3.oo1.DB({ filename, flags: 'c', vfs: installNodeVfs(sqlite3) })
    db.exec('PRAGMA locking_mode = EXCLUSIVE')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(`PRAGMA synchronous = ${kind === 'file-full' ? 'FULL' : 'NORMAL'}; PRAGMA temp_store = MEMORY`)
    db.exec(RAW_SCHEMA)
    return db
  }
}
