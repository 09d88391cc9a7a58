/**
 * `JobRows`: the job rows a write transaction has read, as SQLite holds them, so that putting
 * one back writes only the columns that changed.
 *
 * A whole-row upsert rewrites the entry of every index of `ferry_jobs`, changed or not. An
 * `UPDATE` that sets only the changed columns leaves the indexes on the other columns alone: a
 * claim touches the waiting, active and state indexes, never the id, unique, chain, batch or
 * finished ones, and its payload is neither serialized again nor written.
 *
 * What is remembered must be what the database holds, so it lives for one transaction (or one
 * write joined to the application's transaction, whose own SQL may change rows in between) and
 * is forgotten when it ends, committed or rolled back. A statement that fails forgets its job.
 *
 * @module
 */
import type { SqlValue } from '@sqlite.org/sqlite-wasm'
import type { StoredJob } from '../../core/store.js'
import { DATA, JOB_COLUMNS, PAYLOAD, jobFromRow, jobToRow } from './rows.js'

interface Remembered {
  row: SqlValue[]
  /** The payload value read from `row`: a put of the same value reuses its JSON. */
  payload: unknown
}

/** What `put` says to run: nothing, the upsert, or an update of some columns. */
export type JobWrite =
  | { kind: 'none' }
  | { kind: 'upsert'; row: SqlValue[] }
  | { kind: 'update'; columns: number; bind: SqlValue[] }

export class JobRows {
  readonly #rows = new Map<string, Remembered>()

  /** A row read from `ferry_jobs`, as a job, remembered. */
  read = (row: SqlValue[]): StoredJob => {
    const j = jobFromRow(row)
    this.#rows.set(j.id, { row, payload: j.payload })
    return j
  }

  /**
   * What writing `j` takes. The job is remembered as written: call `forget` if the write then
   * fails. A job of another `seq` than the row read is upserted whole.
   */
  put(j: StoredJob): JobWrite {
    const known = this.#rows.get(j.id)
    if (!known || known.row[0] !== j.seq) {
      const row = jobToRow(j)
      this.#rows.set(j.id, { row, payload: j.payload })
      return { kind: 'upsert', row }
    }
    // The payload is the value read (core never changes one in place): its JSON is the row's.
    const row = jobToRow(j, j.payload === known.payload ? known.row[PAYLOAD] : undefined)
    let columns = 0
    const bind: SqlValue[] = []
    for (let i = 2; i <= DATA; i++) {
      if (row[i] !== known.row[i]) {
        columns |= 1 << i
        bind.push(row[i] as SqlValue)
      }
    }
    known.row = row
    known.payload = j.payload
    if (columns === 0) return { kind: 'none' }
    bind.push(j.seq)
    return { kind: 'update', columns, bind }
  }

  forget(id: string): void {
    this.#rows.delete(id)
  }

  clear(): void {
    this.#rows.clear()
  }
}

/** `UPDATE ferry_jobs SET <the columns of the mask> WHERE seq = ?`: see `JobRows.put`. */
export function updateJobSql(columns: number): string {
  const set = JOB_COLUMNS.filter((_, i) => (columns & (1 << i)) !== 0).map((c) => `${c} = ?`)
  return `UPDATE ferry_jobs SET ${set.join(', ')} WHERE seq = ?`
}
