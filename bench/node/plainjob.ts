/**
 * plainjob: a SQLite job queue on better-sqlite3. WAL, EXCLUSIVE locking and the same
 * `synchronous` as the ferry store it is compared with (one process, one connection, as
 * ferry's store). One plainjob worker runs one job at a time, so concurrency c is c workers on
 * the queue. An idle worker polls, every `POLL_MS` unless told otherwise.
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import { importPeer } from '../lib/peer.js'
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import type { BetterSqlite3, BetterSqlite3Database, Logger, PlainjobModule, PlainjobWorker } from './peer-types.js'

/** How often an idle worker looks for jobs (plainjob's default is 1,000 ms). */
export const POLL_MS = 10

export const silent: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined }

let files = 0

export function plainjob(synchronous: 'normal' | 'full', dir: string, pollMs = POLL_MS): AdapterFactory {
  return async ({ concurrency }) => {
    const { default: Database } = await importPeer<BetterSqlite3>('better-sqlite3')
    const pj = await importPeer<PlainjobModule>('plainjob')
    const db = new Database(joinPath(dir, `plainjob-${process.pid}-${files++}.db`))
    exclusive(db)
    const queue = pj.defineQueue({ connection: pj.better(db), logger: silent })
    // defineQueue sets WAL and synchronous=NORMAL itself.
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    checkWal(db)
    let handler: Handler = () => undefined
    let workers: PlainjobWorker[] = []
    const adapter: Adapter = {
      dispatch: async (i) => queue.add('noop', { i }),
      dispatchMany: async (n, offset) => queue.addMany('noop', Array.from({ length: n }, (_, k) => ({ i: offset + k }))),
      start: async (h) => {
        handler = h
        workers = Array.from({ length: concurrency }, () =>
          pj.defineWorker('noop', async () => handler(), { queue, pollIntervall: pollMs, logger: silent }),
        )
        for (const w of workers) void w.start()
      },
      stop: async () => {
        await Promise.all(workers.map((w) => w.stop()))
      },
      close: async () => {
        queue.close()
        db.close()
      },
    }
    return adapter
  }
}

/** ferry's locking mode on a peer's better-sqlite3 connection, checked. */
export function exclusive(db: BetterSqlite3Database): void {
  const mode = db.pragma('locking_mode = EXCLUSIVE', { simple: true })
  if (mode !== 'exclusive') throw new Error(`locking_mode=EXCLUSIVE did not take (SQLite kept ${String(mode)})`)
}

/** Checks that the peer runs in WAL, as it says it does. */
export function checkWal(db: BetterSqlite3Database): void {
  const mode = db.pragma('journal_mode', { simple: true })
  if (mode !== 'wal') throw new Error(`the peer's database is not in WAL mode (journal_mode=${String(mode)})`)
}
