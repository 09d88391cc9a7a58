/**
 * What the Postgres store needs of a connection, whatever gives it: a `pg.Pool` of node-postgres
 * or a PGlite instance. `driver-pg.ts` and `driver-pglite.ts` make one of each; nothing else in
 * the store knows which it has.
 *
 * @module
 */

/** Runs one statement with `$1`-style parameters and resolves with its rows. */
export interface Sql {
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]>
}

/**
 * A connection held for its whole life: notifications (`LISTEN`) and session advisory locks live
 * on it. The sessions of one driver may share a connection (node-postgres: one of the driver's
 * own, outside the pool), so a session gives back the locks it took itself; the connection
 * closes with the last session released.
 */
export interface Session extends Sql {
  /** `LISTEN channel`; `onPayload` hears each notification's payload. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<void>
  /**
   * `listener` is called once when the connection ends or fails: its `LISTEN`s and advisory
   * locks are gone with it. Never called after `release`.
   */
  onEnd(listener: (error?: unknown) => void): void
  /** Gives the session up: its `LISTEN`s end; the connection, and every lock on it, once no session holds it. */
  release(): Promise<void>
}

export interface Driver {
  readonly kind: 'pg' | 'pglite'
  /**
   * Runs `fn` in one transaction on one connection: `BEGIN` first, `COMMIT` when `fn` resolves,
   * `ROLLBACK` when it throws (the error is rethrown).
   */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>
  /** One statement in a transaction of its own, on any connection. */
  query: Sql['query']
  /**
   * The application's own transaction, given to a store call as `{ tx }`: a client of
   * node-postgres (`pool.connect()` or a `pg.Client`) inside `BEGIN`, or PGlite's transaction
   * object. Statements run on it and commit (or roll back) with the application's work.
   * @throws InvalidArgumentError when `tx` is neither
   */
  joined(tx: unknown): Sql
  /**
   * A connection for `LISTEN` and session locks, held until released: on node-postgres one of the
   * driver's own, made from the pool's settings and shared by its sessions, never one of the
   * pool's clients; for PGlite, the one connection it has.
   */
  session(): Promise<Session>
  /** Releases what the driver opened; the application's pool or PGlite instance stays open. */
  close(): Promise<void>
}
