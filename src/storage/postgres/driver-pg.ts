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

/** What ferry uses of a `pg.Pool`. */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[] }>
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

  async function session(): Promise<Session> {
    const client = await pool.connect()
    const endListeners: ((error?: unknown) => void)[] = []
    let ended = false
    let released = false
    const end = (error?: unknown): void => {
      if (ended || released) return
      ended = true
      sessions.delete(s)
      for (const listener of endListeners.splice(0)) listener(error)
    }
    const onError = (error: Error): void => {
      end(error)
    }
    const onEnd = (): void => {
      end()
    }
    const channels = new Map<string, (payload: string) => void>()
    const onNotification = (message: { channel: string; payload?: string }): void => {
      channels.get(message.channel)?.(message.payload ?? '')
    }
    client.on('error', onError)
    client.on('end', onEnd)
    client.on('notification', onNotification)
    const s: Session = {
      ...sqlOf(client),
      async listen(channel, onPayload) {
        channels.set(channel, onPayload)
        await client.query(`LISTEN ${quoteIdentifier(channel)}`)
      },
      onEnd(listener) {
        if (ended) listener()
        else if (!released) endListeners.push(listener)
      },
      release() {
        if (released) return Promise.resolve()
        released = true
        sessions.delete(s)
        endListeners.length = 0
        client.removeListener('error', onError)
        client.removeListener('end', onEnd)
        client.removeListener('notification', onNotification)
        // The connection may still fail while it closes.
        client.on('error', ignore)
        // Closed, not pooled again: its LISTENs and session advisory locks end with it.
        client.release(true)
        return Promise.resolve()
      },
    }
    sessions.add(s)
    return s
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
      return sqlOf(tx)
    },
    session,
    async close() {
      await Promise.all([...sessions].map((s) => s.release()))
    },
  }
}
