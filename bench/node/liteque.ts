/**
 * liteque: a SQLite job queue on better-sqlite3 and drizzle. WAL, EXCLUSIVE locking and the
 * same `synchronous` as the ferry store it is compared with. It has no batch enqueue:
 * `dispatchMany` is 1,000 `enqueue` calls.
 *
 * It comes from an install of its own (bench/liteque), on the better-sqlite3 its project pins
 * (11.3): its dequeue runs an async function inside a better-sqlite3 transaction, which
 * better-sqlite3 rejects from 11.10 on, the version plainjob and the native ceiling run on.
 *
 * @module
 */
import { join as joinPath } from 'node:path'
import { importPeer } from '../lib/peer.js'
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'
import type { LitequeModule, LitequeRunner } from './peer-types.js'
import { POLL_MS, checkWal, exclusive } from './plainjob.js'

let files = 0

export function liteque(synchronous: 'normal' | 'full', dir: string): AdapterFactory {
  return async ({ concurrency }) => {
    const lq = await importPeer<LitequeModule>('liteque', 'liteque')
    const db = lq.buildDBClient(joinPath(dir, `liteque-${process.pid}-${files++}.db`), { runMigrations: true, walEnabled: true })
    const client = db.session.client
    exclusive(client)
    client.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    checkWal(client)
    const queue = new lq.SqliteQueue('bench', db, { defaultJobArgs: { numRetries: 0 }, keepFailedJobs: false })
    let handler: Handler = () => undefined
    let runner: LitequeRunner | undefined
    let loop: Promise<void> = Promise.resolve()
    const adapter: Adapter = {
      dispatch: (i) => queue.enqueue({ i }),
      dispatchMany: (n, offset) => Promise.all(Array.from({ length: n }, (_, k) => queue.enqueue({ i: offset + k }))),
      start: async (h) => {
        handler = h
        runner = new lq.Runner(queue, { run: async () => handler() }, { pollIntervalMs: POLL_MS, timeoutSecs: 60, concurrency })
        loop = runner.run()
      },
      stop: async () => {
        runner?.stop()
        await loop
      },
      close: async () => client.close(),
      manyNote: 'no batch enqueue: 1,000 enqueue calls',
      cannotProcess: async () => {
        try {
          await queue.enqueue({ probe: true })
          await queue.attemptDequeue({ timeoutSecs: 60 })
          return undefined
        } catch (err) {
          return `liteque cannot dequeue here: ${err instanceof Error ? err.message : String(err)} (its dequeue runs an async function inside a better-sqlite3 transaction, which better-sqlite3 rejects from 11.10 on; bench/liteque pins 11.3)`
        }
      },
    }
    return adapter
  }
}
