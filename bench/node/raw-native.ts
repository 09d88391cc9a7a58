/**
 * Opening the raw ceiling of the storage itself in Node: native SQLite through better-sqlite3
 * on a file, with ferry's pragmas, for the same statements as the ceiling of ferry's engine.
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import { importPeer } from '../lib/peer.js'
import { ferryPragmas, type RawConnection } from '../lib/raw-sqlite.js'
import type { BetterSqlite3 } from './peer-types.js'

let files = 0

export function openNativeSqlite(synchronous: 'normal' | 'full', dir: string): () => Promise<RawConnection> {
  return async () => {
    const { default: Database } = await importPeer<BetterSqlite3>('better-sqlite3')
    const db = new Database(joinPath(dir, `native-${process.pid}-${files++}.db`))
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
