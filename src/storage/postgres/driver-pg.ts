/**
 * The driver over a node-postgres `pg.Pool`. ferry never imports `pg`: it uses the pool it is
 * given, through the few members written out below.
 *
 * @module
 */
import { InvalidArgumentError } from '../../core/errors.js'
import type { Driver, Session, Sql } from './driver.js'

/** What ferry uses of a `pg.Client` (a pooled one has `release`). */
export interface PgClientLike {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
  on(event: 'error', listener: (error: Error) => void): unknown
  on(event: 'end', listener: () => void): unknown
  on(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
  removeListener(event: 'error', listener: (error: Error) => void): unknown
  removeListener(event: 'end', listener: () => void): unknown
  removeListener(event: 'notification', listener: (message: { channel: string; payload?: string }) => void): unknown
}

/** A client checked out of a pool: `release(error)` discards it instead of pooling it again. */
export interface PgPoolClientLike extends PgClientLike {
  release(error?: Error | boolean): void
}

/** What ferry uses of a `pg.Client` it makes and ends itself. */
export interface PgOwnClientLike extends PgClientLike {
  connect(): Promise<unknown>
  end(): Promise<unknown>
}

/** What ferry uses of a `pg.Pool`. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
  /** The class of the pool's clients (node-postgres' `pg.Pool` has it): the store makes its own connection with it. */
  readonly Client?: new (options: object) => PgOwnClientLike
  /** The settings the pool makes its clients with. */
  readonly options?: object
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** Whether `value` looks like a `pg.Pool`: ferry cannot `instanceof` a class it does not import. */
export function isPgPool(value: unknown): value is PgPoolLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { connect?: unknown }).connect === 'function' &&
    typeof (value as { query?: unknown }).query === 'function' &&
    'totalCount' in value
  )
}

/**
 * A client of the application inside its `BEGIN`: a pooled client (it has `release`) or a
 * `pg.Client`. A pool is refused: its `query` would run outside the application's transaction.
 */
function isPgClient(value: unknown): value is PgClientLike {
  if (typeof value !== 'object' || value === null || isPgPool(value)) return false
  const v = value as Record<string, unknown>
  return (
    typeof v.query === 'function' &&
    typeof v.on === 'function' &&
    (typeof v.release === 'function' || typeof v.escapeIdentifier === 'function')
  )
}

/**
 * Without parameters a statement goes by the simple query protocol, so a text may hold several
 * statements (a migration): node-postgres then answers with a result per statement, and the
 * rows are the last one's.
 */
function sqlOf(client: Pick<PgClientLike, 'query'>): Sql {
  return {
    async query<R>(text: string, params?: readonly unknown[]) {
      const result = (await client.query(text, params as unknown[] | undefined)) as
        | { rows: unknown[] }
        | { rows: unknown[] }[]
      return (Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows) as R[]
    },
  }
}

const ignore = (): void => {}

/**
 * A connection of the store's own, shared by every session it gives (notifications, liveness,
 * hearing commits): made from the pool's settings (`new pool.Client(pool.options)`, as the pool
 * makes its own), so that it never takes one of the pool's `max` clients, which belong to the
 * application and to transactions. A pool that does not tell its settings gives a client of its
 * own, held while a session is.
 */
interface Connection {
  /** True once the connection ended or failed: its sessions heard `onEnd`. */
  ended: boolean
  onEnded: (() => void) | undefined
  lease(): Session
}

async function openConnection(pool: PgPoolLike): Promise<Connection> {
  let client: PgClientLike
  let close: () => Promise<void>
  const early = (error: Error): void => {
    failed ??= error
  }
  let failed: Error | undefined
  if (typeof pool.Client === 'function' && typeof pool.options === 'object' && pool.options !== null) {
    const own = new pool.Client(pool.options)
    own.on('error', early)
    try {
      await own.connect()
    } catch (error) {
      own.end().catch(() => undefined)
      throw error
    }
    client = own
    close = () => own.end().then(ignore, ignore)
  } else {
    const pooled = await pool.connect()
    pooled.on('error', early)
    client = pooled
    close = () => {
      // Closed, not pooled again: its LISTENs and session advisory locks end with it.
      pooled.release(true)
      return Promise.resolve()
    }
  }
  client.removeListener('error', early)

  interface Lease {
    session: Session
    channels: Map<string, (payload: string) => void>
    endListeners: ((error?: unknown) => void)[]
  }
  const leases = new Set<Lease>()
  const connection: Connection = { ended: false, onEnded: undefined, lease }
  let closing: Promise<void> | undefined

  const shut = (): Promise<void> => {
    client.removeListener('error', onError)
    client.removeListener('end', onEnd)
    client.removeListener('notification', onNotification)
    // The connection may still fail while it closes.
    client.on('error', ignore)
    return (closing ??= close())
  }
  const end = (error?: unknown): void => {
    if (connection.ended) return
    connection.ended = true
    connection.onEnded?.()
    const ending = [...leases]
    leases.clear()
    void shut()
    for (const l of ending) for (const listener of l.endListeners.splice(0)) listener(error)
  }
  const onError = (error: Error): void => {
    end(error)
  }
  const onEnd = (): void => {
    end()
  }
  const onNotification = (message: { channel: string; payload?: string }): void => {
    for (const l of [...leases]) l.channels.get(message.channel)?.(message.payload ?? '')
  }
  client.on('error', onError)
  client.on('end', onEnd)
  client.on('notification', onNotification)
  if (failed) end(failed)

  /** One statement at a time: the sessions share the connection, and node-postgres wants its queries one after another. */
  let tail: Promise<unknown> = Promise.resolve()
  const serial: Pick<PgClientLike, 'query'> = {
    query(text, params) {
      const run = tail.then(
        () => client.query(text, params),
        () => client.query(text, params),
      )
      tail = run.catch(ignore)
      return run
    },
  }

  function lease(): Session {
    const l: Lease = { session: undefined as unknown as Session, channels: new Map(), endListeners: [] }
    let released = false
    l.session = {
      ...sqlOf(serial),
      async listen(channel, onPayload) {
        l.channels.set(channel, onPayload)
        await serial.query(`LISTEN ${quoteIdentifier(channel)}`)
      },
      onEnd(listener) {
        if (released) return
        if (connection.ended) listener()
        else l.endListeners.push(listener)
      },
      async release() {
        if (released) return
        released = true
        l.endListeners.length = 0
        if (!leases.delete(l) || connection.ended) return
        if (leases.size === 0) {
          // The last session: the connection closes, and with it every LISTEN and session lock.
          connection.ended = true
          connection.onEnded?.()
          await shut()
          return
        }
        const others = new Set([...leases].flatMap((o) => [...o.channels.keys()]))
        for (const channel of l.channels.keys()) {
          if (!others.has(channel)) await serial.query(`UNLISTEN ${quoteIdentifier(channel)}`).catch(() => undefined)
        }
      },
    }
    leases.add(l)
    return l.session
  }
  return connection
}

const databases = new WeakMap<PgPoolLike, string | undefined>()

/**
 * The name of the database the pool's clients connect to, as node-postgres resolves it from the
 * pool's settings (a client made, never connected). Only the name: another server with a
 * database of the same name cannot be told from it.
 */
function databaseOf(pool: PgPoolLike): string | undefined {
  if (!databases.has(pool)) {
    let name: string | undefined
    if (typeof pool.Client === 'function' && typeof pool.options === 'object' && pool.options !== null) {
      const database = (new pool.Client(pool.options) as { database?: unknown }).database
      if (typeof database === 'string') name = database
    }
    databases.set(pool, name)
  }
  return databases.get(pool)
}

export function pgDriver(pool: PgPoolLike): Driver {
  const sessions = new Set<Session>()

  async function transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    const client = await pool.connect()
    // A checked-out client that loses its connection between two statements emits 'error';
    // without a listener that would end the process.
    let broken: Error | undefined
    const onError = (error: Error): void => {
      broken ??= error
    }
    client.on('error', onError)
    let discard: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await fn(sqlOf(client))
      await client.query('COMMIT')
      return result
    } catch (error) {
      try {
        await client.query('ROLLBACK')
      } catch (rollbackError) {
        discard = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
      }
      throw error
    } finally {
      client.removeListener('error', onError)
      // A client whose state is unknown is closed rather than handed to the next transaction.
      client.release(discard ?? broken)
    }
  }

  /** The store's own connection, opening or open; undefined once it ended. */
  let shared: Promise<Connection> | undefined

  async function session(): Promise<Session> {
    for (;;) {
      const opening = (shared ??= openConnection(pool))
      opening.catch(() => {
        if (shared === opening) shared = undefined
      })
      const connection = await opening
      // Ended while this call waited: open another.
      if (connection.ended) {
        if (shared === opening) shared = undefined
        continue
      }
      connection.onEnded = () => {
        if (shared === opening) shared = undefined
      }
      const s = connection.lease()
      sessions.add(s)
      s.onEnd(() => sessions.delete(s))
      const release = s.release.bind(s)
      s.release = () => {
        sessions.delete(s)
        return release()
      }
      return s
    }
  }

  return {
    kind: 'pg',
    transaction,
    query: (text, params) => sqlOf(pool).query(text, params),
    joined(tx) {
      if (!isPgClient(tx)) {
        throw new InvalidArgumentError(
          '{ tx } must be a node-postgres client inside the application\'s BEGIN (from pool.connect(), or a pg.Client)',
        )
      }
      const database = (tx as { database?: unknown }).database
      const own = databaseOf(pool)
      if (typeof database === 'string' && own !== undefined && database !== own) {
        throw new InvalidArgumentError(`{ tx } is a client of the database "${database}", the store's pool is of "${own}": a job must commit where the store is`)
      }
      return sqlOf(tx)
    },
    session,
    async close() {
      await Promise.all([...sessions].map((s) => s.release()))
    },
  }
}
