/**
 * The driver over a PGlite instance (`@electric-sql/pglite`): one connection, so a session is
 * that connection and transactions take turns on it. ferry never imports PGlite: it uses the
 * instance it is given, through the few members written out below.
 *
 * @module
 */
import { InvalidArgumentError } from '../../core/errors.js'
import type { Driver, Session, Sql } from './driver.js'

/** What ferry uses of PGlite's transaction object. */
export interface PGliteTransactionLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
  exec(text: string): Promise<{ rows: unknown[] }[]>
  rollback(): Promise<void>
}

/** What ferry uses of a PGlite instance. */
export interface PGliteLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
  exec(text: string): Promise<{ rows: unknown[] }[]>
  transaction<T>(fn: (tx: PGliteTransactionLike) => Promise<T>): Promise<T>
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>
}

/** Whether `value` looks like a PGlite instance: ferry cannot `instanceof` a class it does not import. */
export function isPGlite(value: unknown): value is PGliteLike {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.exec === 'function' &&
    typeof v.listen === 'function' &&
    typeof v.transaction === 'function' &&
    typeof v.query === 'function'
  )
}

function isPGliteTransaction(value: unknown): value is PGliteTransactionLike {
  if (typeof value !== 'object' || value === null || isPGlite(value)) return false
  const v = value as Record<string, unknown>
  return typeof v.query === 'function' && typeof v.exec === 'function' && typeof v.rollback === 'function'
}

/**
 * Without parameters a statement goes by the simple query protocol (`exec`), as node-postgres
 * sends it, so a text may hold several statements (a migration); the rows are the last one's.
 */
function sqlOf(on: Pick<PGliteLike, 'query' | 'exec'>): Sql {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      if (params === undefined || params.length === 0) {
        const results = await on.exec(text)
        return (results.at(-1)?.rows ?? []) as R[]
      }
      const result = await on.query(text, params as unknown[])
      return result.rows as R[]
    },
  }
}

const IDENTIFIER_SQL = 'SELECT system_identifier::text AS id FROM pg_control_system()'

export function pgliteDriver(db: PGliteLike): Driver {
  const sessions = new Set<Session>()
  const sql = sqlOf(db)

  // PGlite's transaction object does not tell its instance; the cluster's system identifier,
  // random for each database PGlite makes, does. Asked now: asked once the application's
  // transaction runs, it would wait for that transaction to end.
  let identifier: string | undefined
  sql
    .query<{ id: string }>(IDENTIFIER_SQL)
    .then(([row]) => {
      identifier = row?.id
    })
    .catch(() => undefined)
  const checked = new WeakMap<object, Promise<void>>()

  /** Rejects for a transaction of another PGlite instance (checked once per transaction). */
  function ofThisInstance(tx: PGliteTransactionLike): Promise<void> {
    // Not known yet (the instance was made with the transaction open): it cannot be told.
    if (identifier === undefined) return Promise.resolve()
    let check = checked.get(tx)
    if (!check) {
      const own = identifier
      check = sqlOf(tx)
        .query<{ id: string }>(IDENTIFIER_SQL)
        .then(([row]) => {
          if (row?.id !== own) {
            throw new InvalidArgumentError('{ tx } is a transaction of another PGlite instance than the store\'s: a job must commit where the store is')
          }
        })
      checked.set(tx, check)
    }
    return check
  }

  async function session(): Promise<Session> {
    const unlisten: (() => Promise<void>)[] = []
    let released = false
    const s: Session = {
      query: (text, params) => sql.query(text, params),
      async listen(channel, onPayload) {
        // PGlite folds an unquoted name to lower case, as Postgres does; ours are lower case.
        unlisten.push(await db.listen(channel, onPayload))
      },
      // PGlite runs in this process: its connection ends only when the application closes it.
      onEnd() {},
      async release() {
        if (released) return
        released = true
        sessions.delete(s)
        await Promise.all(unlisten.splice(0).map((stop) => stop()))
      },
    }
    sessions.add(s)
    return Promise.resolve(s)
  }

  return {
    kind: 'pglite',
    transaction(fn) {
      return db.transaction((tx) => fn(sqlOf(tx)))
    },
    query: (text, params) => sql.query(text, params),
    joined(tx) {
      if (!isPGliteTransaction(tx)) {
        throw new InvalidArgumentError(
          '{ tx } must be the transaction object PGlite passes to db.transaction(async (tx) => …)',
        )
      }
      const joined = sqlOf(tx)
      return {
        async query(text, params) {
          await ofThisInstance(tx)
          return joined.query(text, params)
        },
      }
    },
    session,
    async close() {
      await Promise.all([...sessions].map((s) => s.release()))
    },
  }
}
