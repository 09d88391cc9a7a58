/**
 * Opening the raw SQLite ceilings in Node with ferry's pragmas: ferry's engine (SQLite WASM, in
 * memory or a file through ferry's node:fs VFS), and native SQLite through better-sqlite3 on
 * a file, which shows what the storage itself can do apart from ferry's engine.
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import { installNodeVfs } from '../../src/storage/wasm-sqlite/node-vfs.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'
import { importPeer } from '../lib/peer.js'
import { ferryPragmas, wasmConnection, type RawConnection } from '../lib/raw-sqlite.js'
import type { BetterSqlite3 } from './peer-types.js'

export type RawSqliteKind = 'memory' | 'file-normal' | 'file-full'

let files = 0

function file(dir: string, prefix: string): string {
  return joinPath(dir, `${prefix}-${process.pid}-${files++}.db`)
}

export function openRawSqlite(kind: RawSqliteKind, dir: string): () => Promise<RawConnection> {
  return async () => {
    const sqlite3 = await loadSqlite()
    if (kind === 'memory') return wasmConnection(new sqlite3.oo1.DB(':memory:', 'c'))
    const c = wasmConnection(new sqlite3.oo1.DB({ filename: file(dir, 'raw'), flags: 'c', vfs: installNodeVfs(sqlite3) }))
    ferryPragmas(c, kind === 'file-full' ? 'full' : 'normal')
    return c
  }
}

export function openNativeSqlite(synchronous: 'normal' | 'full', dir: string): () => Promise<RawConnection> {
  return async () => {
    const { default: Database } = await importPeer<BetterSqlite3>('better-sqlite3')
    const db = new Database(file(dir, 'native'))
    const c: RawConnection = {
      exec: (sql) => void db.exec(sql),
      value: (sql) => db.prepare(sql).pluck().get(),
      prepare: (sql) => {
        const s = db.prepare(sql)
        return {
          run: (values) => void s.run(...values),
          ints: (values) => s.pluck().all(...values) as number[],
          finalize: () => undefined,
        }
      },
      close: () => db.close(),
    }
    ferryPragmas(c, synchronous)
    return c
  }
}
