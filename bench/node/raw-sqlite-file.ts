/**
 * Opening the raw SQLite ceiling of ferry's engine in Node: SQLite WASM in memory, or a file
 * through ferry's node:fs VFS with ferry's pragmas. (`raw-native.ts` opens native SQLite.)
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import { installNodeVfs } from '../../src/storage/wasm-sqlite/node-vfs.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'
import { ferryPragmas, wasmConnection, type RawConnection } from '../lib/raw-sqlite.js'

export type RawSqliteKind = 'memory' | 'file-normal' | 'file-full'

let files = 0

function file(dir: string): string {
  return joinPath(dir, `raw-${process.pid}-${files++}.db`)
}

export function openRawSqlite(kind: RawSqliteKind, dir: string): () => Promise<RawConnection> {
  return async () => {
    const sqlite3 = await loadSqlite()
    if (kind === 'memory') return wasmConnection(new sqlite3.oo1.DB(':memory:', 'c'))
    const c = wasmConnection(new sqlite3.oo1.DB({ filename: file(dir), flags: 'c', vfs: installNodeVfs(sqlite3) }))
    ferryPragmas(c, kind === 'file-full' ? 'full' : 'normal')
    return c
  }
}
