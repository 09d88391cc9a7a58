/**
 * The SQLite ceiling: the very engine and VFS ferry's store uses, opened by the caller with the
 * same pragmas, writing the equivalent rows in their best batched form with prepared
 * statements and no queue logic: a dispatch is one INSERT in its own transaction,
 * `dispatchMany` 1,000 INSERTs in one, and processing at concurrency c is one transaction per
 * turn that marks the last c jobs done and leases the next c.
 *
 * @module
 */
import type { Database, PreparedStatement } from '@sqlite.org/sqlite-wasm'
import type { Adapter, AdapterFactory, Handler } from './adapter.js'

/** The table the raw ceiling writes: ferry's hot columns, the id unique, one claim index. */
export const RAW_SCHEMA = `
  CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, type TEXT NOT NULL,
    state TEXT NOT NULL, priority INTEGER NOT NULL, run_at INTEGER NOT NULL, lease_token TEXT, payload TEXT, data TEXT);
  CREATE INDEX jobs_waiting ON jobs (queue, type, priority DESC, run_at, seq) WHERE state = 'waiting';
`

/** `open` returns a fresh database with its pragmas set and RAW_SCHEMA created. */
export function rawSqlite(open: () => Promise<Database>): AdapterFactory {
  return async ({ concurrency }) => {
    const db = await open()
    const insert = db.prepare(
      "INSERT INTO jobs (id, queue, type, state, priority, run_at, payload, data) VALUES (?, 'default', 'noop', 'waiting', 0, ?, ?, '{}')",
    )
    const next = db.prepare(
      "SELECT seq, payload FROM jobs WHERE queue = 'default' AND type = 'noop' AND state = 'waiting' ORDER BY priority DESC, run_at, seq LIMIT ?",
    )
    const lease = db.prepare("UPDATE jobs SET state = 'active', lease_token = ? WHERE seq = ?")
    const done = db.prepare("UPDATE jobs SET state = 'succeeded', lease_token = NULL WHERE seq = ?")
    const put = (i: number) => run(insert, [`j${i}`, Date.now(), JSON.stringify({ i })])
    const tx = <T>(fn: () => T): T => {
      db.exec('BEGIN IMMEDIATE')
      try {
        const out = fn()
        db.exec('COMMIT')
        return out
      } catch (err) {
        db.exec('ROLLBACK')
        throw err
      }
    }

    let handler: Handler = () => undefined
    let stopped = true
    let loop: Promise<void> = Promise.resolve()
    let wake: (() => void) | undefined
    // One transaction per turn: settle what finished, lease up to `concurrency` more.
    const work = async () => {
      let finished: number[] = []
      while (!stopped || finished.length > 0) {
        const settle = finished
        finished = []
        const claimed = tx(() => {
          for (const seq of settle) run(done, [seq])
          if (stopped) return []
          const rows: number[] = []
          next.bind([concurrency])
          while (next.step()) rows.push(next.getInt(0) ?? 0)
          next.reset()
          for (const seq of rows) run(lease, ['t', seq])
          return rows
        })
        if (claimed.length === 0 && !stopped) {
          await new Promise<void>((resolve) => (wake = resolve))
          continue
        }
        await Promise.all(
          claimed.map(async (seq) => {
            await Promise.resolve()
            handler()
            finished.push(seq)
          }),
        )
      }
    }
    const adapter: Adapter = {
      dispatch: async (i) => {
        tx(() => put(i))
        wake?.()
      },
      dispatchMany: async (n, offset) => {
        tx(() => {
          for (let k = 0; k < n; k++) put(offset + k)
        })
        wake?.()
      },
      start: async (h) => {
        handler = h
        stopped = false
        loop = work()
      },
      stop: async () => {
        stopped = true
        wake?.()
        await loop
      },
      close: async () => {
        for (const s of [insert, next, lease, done]) s.finalize()
        db.close()
      },
    }
    return adapter
  }
}

function run(stmt: PreparedStatement, values: (string | number)[]): void {
  stmt.bind(values)
  stmt.step()
  stmt.reset()
}
