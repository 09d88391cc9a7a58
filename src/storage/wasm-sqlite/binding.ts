/**
 * Binding values, stepping and reading rows of ferry's prepared statements through the WASM
 * module's exports directly.
 *
 * The `oo1` API checks and converts every argument of every call on its way in and out (a
 * bound string is copied into a fresh allocation, an integer column comes back as a BigInt
 * first), which costs more than SQLite's own work for the small rows of a queue. Here a string
 * is encoded into one scratch buffer that SQLite copies from (`SQLITE_TRANSIENT`), numbers are
 * bound and read as doubles (exact for every integer up to 2^53, which ferry's numbers are),
 * and errors are thrown by `oo1` itself, with its messages and result codes.
 *
 * @module
 */
import type { Database, PreparedStatement, SqlValue, Sqlite3Static } from '@sqlite.org/sqlite-wasm'

/** The C functions used here, as the module exports them (pointers are 32-bit numbers). */
interface Exports {
  sqlite3_bind_null(stmt: number, i: number): number
  sqlite3_bind_int(stmt: number, i: number, v: number): number
  sqlite3_bind_double(stmt: number, i: number, v: number): number
  sqlite3_bind_text(stmt: number, i: number, text: number, bytes: number, destructor: number): number
  sqlite3_step(stmt: number): number
  sqlite3_reset(stmt: number): number
  sqlite3_column_type(stmt: number, i: number): number
  sqlite3_column_double(stmt: number, i: number): number
  sqlite3_column_text(stmt: number, i: number): number
  sqlite3_column_bytes(stmt: number, i: number): number
  sqlite3_column_blob(stmt: number, i: number): number
  sqlite3_malloc(bytes: number): number
  sqlite3_free(p: number): void
}

const SQLITE_ROW = 100
const SQLITE_DONE = 101
const SQLITE_INTEGER = 1
const SQLITE_FLOAT = 2
const SQLITE_TEXT = 3
const SQLITE_NULL = 5
/** The destructor argument that tells SQLite to copy the value before the call returns. */
const SQLITE_TRANSIENT = -1

const isInt32 = (v: number): boolean => (v | 0) === v && !Object.is(v, -0)

export class Binding {
  readonly #sqlite3: Sqlite3Static
  readonly #db: Database
  readonly #x: Exports | undefined
  readonly #encoder = new TextEncoder()
  readonly #decoder = new TextDecoder()
  #scratch = 0
  #capacity = 0

  constructor(sqlite3: Sqlite3Static, db: Database) {
    this.#sqlite3 = sqlite3
    this.#db = db
    // A build with 64-bit pointers would pass BigInts: it gets the oo1 API throughout. (The
    // package's types still name the older `ptrSizeof`; this build has `ptr.size`.)
    const wasm = sqlite3.wasm as unknown as { ptr?: { size?: number }; ptrSizeof?: number }
    const exports: unknown = sqlite3.wasm.exports
    this.#x = (wasm.ptr?.size ?? wasm.ptrSizeof) === 4 ? (exports as Exports) : undefined
  }

  bind(stmt: PreparedStatement, values: readonly SqlValue[]): void {
    const x = this.#x
    if (!x) {
      stmt.bind(values)
      return
    }
    const p = stmt.pointer as number
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      let rc: number
      if (v === null || v === undefined) rc = x.sqlite3_bind_null(p, i + 1)
      else if (typeof v === 'number') rc = isInt32(v) ? x.sqlite3_bind_int(p, i + 1, v) : x.sqlite3_bind_double(p, i + 1, v)
      else if (typeof v === 'string') rc = this.#bindText(x, p, i + 1, v)
      else {
        // Booleans, BigInts and blobs: the oo1 API knows them all.
        stmt.bind(i + 1, v)
        continue
      }
      if (rc !== 0) this.#sqlite3.oo1.DB.checkRc(this.#db, rc)
    }
  }

  /** True when a row is ready, false when the statement is done; throws SQLite's error. */
  step(stmt: PreparedStatement): boolean {
    const x = this.#x
    if (!x) return stmt.step()
    const rc = x.sqlite3_step(stmt.pointer as number)
    if (rc === SQLITE_ROW) return true
    if (rc === SQLITE_DONE) return false
    this.#sqlite3.oo1.DB.checkRc(this.#db, rc)
    return false
  }

  /** The current row's values. */
  row(stmt: PreparedStatement): SqlValue[] {
    const x = this.#x
    if (!x) return stmt.get([])
    const p = stmt.pointer as number
    const n = stmt.columnCount
    const out: SqlValue[] = new Array<SqlValue>(n)
    for (let i = 0; i < n; i++) {
      switch (x.sqlite3_column_type(p, i)) {
        case SQLITE_NULL:
          out[i] = null
          break
        case SQLITE_INTEGER:
        case SQLITE_FLOAT:
          out[i] = x.sqlite3_column_double(p, i)
          break
        case SQLITE_TEXT: {
          const at = x.sqlite3_column_text(p, i)
          const bytes = x.sqlite3_column_bytes(p, i)
          out[i] = this.#decoder.decode(this.#sqlite3.wasm.heap8u().subarray(at, at + bytes))
          break
        }
        default: {
          // A blob: no column ferry writes holds one, but a row changed by hand may. Copied out,
          // as the oo1 API would (which cannot read a row this stepped).
          const at = x.sqlite3_column_blob(p, i)
          const bytes = x.sqlite3_column_bytes(p, i)
          out[i] = this.#sqlite3.wasm.heap8u().slice(at, at + bytes)
        }
      }
    }
    return out
  }

  reset(stmt: PreparedStatement): void {
    if (!this.#x) {
      stmt.reset()
      return
    }
    const rc = this.#x.sqlite3_reset(stmt.pointer as number)
    if (rc !== 0) this.#sqlite3.oo1.DB.checkRc(this.#db, rc)
  }

  /** Frees the scratch buffer. */
  dispose(): void {
    if (this.#x && this.#scratch !== 0) this.#x.sqlite3_free(this.#scratch)
    this.#scratch = 0
    this.#capacity = 0
  }

  #bindText(x: Exports, p: number, i: number, s: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const need = s.length * 3 + 1
    if (need > this.#capacity) {
      if (this.#scratch !== 0) x.sqlite3_free(this.#scratch)
      const capacity = Math.max(need, 2 * this.#capacity, 4096)
      this.#scratch = x.sqlite3_malloc(capacity)
      this.#capacity = this.#scratch === 0 ? 0 : capacity
      // SQLITE_NOMEM
      if (this.#scratch === 0) return 7
    }
    // The heap is read again after the allocation: it may have grown into a new buffer.
    const heap = this.#sqlite3.wasm.heap8u()
    const { written } = this.#encoder.encodeInto(s, heap.subarray(this.#scratch, this.#scratch + this.#capacity))
    return x.sqlite3_bind_text(p, i, this.#scratch, written, SQLITE_TRANSIENT)
  }
}
