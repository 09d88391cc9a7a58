/**
 * The SQLite ceilings: SQLite with ferry's pragmas, writing the equivalent rows in their best
 * batched form with prepared statements and no queue logic: a dispatch is one INSERT in its
 * own transaction, `dispatchMany` 1,000 INSERTs in one, and processing at concurrency c is one
 * transaction per turn that marks the last c jobs done and leases the next c. The same
 * statements run on any connection: ferry's own engine (SQLite WASM, in Node through ferry's
 * VFS, in Chromium on opfs-sahpool) or native SQLite through better-sqlite3. With `ahead`,
 * processing claims ahead instead (`claim-ahead.ts`): one transaction settles what finished and
 * leases up to `ahead` jobs, which c runners take from a buffer.
 *
 * @module
 */
import type { Database } from '@sqlite.org/sqlite-wasm'
import type { Adapter, AdapterFactory, Handler } from './adapter.js'
import { claimAheadLoop } from './claim-ahead.js'

/** The table the raw ceiling writes: ferry's hot columns, the id unique, one claim index. */
export const RAW_SCHEMA = `
  CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, type TEXT NOT NULL,
    state TEXT NOT NULL, priority INTEGER NOT NULL, run_at INTEGER NOT NULL, lease_token TEXT, payload TEXT, data TEXT);
  CREATE INDEX jobs_waiting ON jobs (queue, type, priority DESC, run_at, seq) WHERE state = 'waiting';
`

type Value = string | number

/** A prepared statement, whichever SQLite runs it. */
export interface RawStatement {
  run(values: readonly Value[]): void
  /** The first column of every row, as numbers. */
  ints(values: readonly Value[]): number[]
  finalize(): void
}

/** A SQLite connection, whichever SQLite it is. */
export interface RawConnection {
  exec(sql: string): void
  /** The first column of the first row. */
  value(sql: string): unknown
  prepare(sql: string): RawStatement
  close(): void
}

/** A connection on SQLite WASM, ferry's engine. */
export function wasmConnection(db: Database): RawConnection {
  return {
    exec: (sql) => void db.exec(sql),
    value: (sql) => db.selectValue(sql),
    prepare: (sql) => {
      const s = db.prepare(sql)
      return {
        run: (values) => {
          s.bind([...values])
          s.step()
          s.reset()
        },
        ints: (values) => {
          s.bind([...values])
          const out: number[] = []
          while (s.step()) out.push(s.getInt(0) ?? 0)
          s.reset()
          return out
        },
        finalize: () => void s.finalize(),
      }
    },
    close: () => db.close(),
  }
}

/**
 * The pragmas ferry's file and OPFS stores set, in their order, checked: one connection holds
 * the file (EXCLUSIVE), commits append to a WAL, and `synchronous` as given. Throws when
 * SQLite does not take them (opfs-sahpool, for one, refuses WAL without EXCLUSIVE first).
 */
export function ferryPragmas(c: RawConnection, synchronous: 'normal' | 'full'): void {
  const locking = c.value('PRAGMA locking_mode = EXCLUSIVE')
  if (locking !== 'exclusive') throw new Error(`locking_mode=EXCLUSIVE did not take (SQLite kept ${String(locking)})`)
  const mode = c.value('PRAGMA journal_mode = WAL')
  if (mode !== 'wal') throw new Error(`journal_mode=WAL did not take (SQLite kept ${String(mode)})`)
  c.exec(`PRAGMA synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 67108864`)
}

/**
 * `open` returns a fresh connection with its pragmas set; the schema is created here. `ahead`:
 * jobs leased per turn with claim-ahead; without it, each turn leases c.
 */
export function rawSqlite(open: () => Promise<RawConnection>, o: { ahead?: number } = {}): AdapterFactory {
  return async ({ concurrency }) => {
    const db = await open()
    db.exec(RAW_SCHEMA)
    const insert = db.prepare(
      "INSERT INTO jobs (id, queue, type, state, priority, run_at, payload, data) VALUES (?, 'default', 'noop', 'waiting', 0, ?, ?, '{}')",
    )
    const next = db.prepare(
      "SELECT seq, payload FROM jobs WHERE queue = 'default' AND type = 'noop' AND state = 'waiting' ORDER BY priority DESC, run_at, seq LIMIT ?",
    )
    const lease = db.prepare("UPDATE jobs SET state = 'active', lease_token = ? WHERE seq = ?")
    const done = db.prepare("UPDATE jobs SET state = 'succeeded', lease_token = NULL WHERE seq = ?")
    const put = (i: number) => insert.run([`j${i}`, Date.now(), JSON.stringify({ i })])
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
          for (const seq of settle) done.run([seq])
          if (stopped) return []
          const rows = next.ints([concurrency])
          for (const seq of rows) lease.run(['t', seq])
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
    const ahead =
      o.ahead === undefined
        ? undefined
        : claimAheadLoop<number>({
            concurrency,
            ahead: o.ahead,
            turn: (settle, want) =>
              tx(() => {
                for (const seq of settle) done.run([seq])
                if (want === 0) return []
                const rows = next.ints([want])
                for (const seq of rows) lease.run(['t', seq])
                return rows
              }),
          })
    const woken = () => (ahead ? ahead.wake() : wake?.())
    const adapter: Adapter = {
      dispatch: async (i) => {
        tx(() => put(i))
        woken()
      },
      dispatchMany: async (n, offset) => {
        tx(() => {
          for (let k = 0; k < n; k++) put(offset + k)
        })
        woken()
      },
      start: async (h) => {
        if (ahead) return ahead.start(h)
        handler = h
        stopped = false
        loop = work()
      },
      stop: async () => {
        if (ahead) return ahead.stop()
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
