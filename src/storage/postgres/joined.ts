/**
 * Whether the application's transaction, joined by a write given `{ tx }`, committed. Events
 * of that write are told only once it has, and never when it rolled back.
 *
 * Inside the transaction, one statement reads its id (`txid_current()`) and, on node-postgres,
 * sends a notification on a channel only this driver listens to: Postgres delivers it at
 * `COMMIT`, and never after a `ROLLBACK`, so a commit is heard at once. What is not heard (a
 * rollback, or a commit while the listening connection was down) is read from
 * `txid_status()`, asked again with growing pauses until the transaction has ended.
 *
 * PGlite has one connection: a statement outside the application's transaction waits for it
 * to end, so the first `txid_status()` already has the answer.
 *
 * A write joins the application's transaction inside a savepoint of its own, which a savepoint
 * of the application around it can roll back while the transaction commits. Given a row the
 * write wrote, the answer is that of the write's own subtransaction: the row's `xmin` names
 * it, and `txid_status()` of it is `committed` only once the transaction committed with it, and
 * `aborted` as soon as a savepoint around it was rolled back. The notification is sent after
 * the write, in the savepoint the write was made in: a rollback that undid the write undid it
 * too, so hearing it still means the write committed.
 *
 * @module
 */
import type { Driver, Session, Sql } from './driver.js'

/** The pauses between two readings of a transaction's status, in milliseconds. */
const FIRST_PAUSE_MS = 20
const LONGEST_PAUSE_MS = 1_000

interface Listener {
  channel: string
  /** The transactions waiting to be heard committed, by id. */
  waiting: Map<string, () => void>
  /** Watches from `watchCommit` until their transaction was read ended: the session listens while there is one. */
  watches: number
  session?: Promise<Session | undefined>
}

const listeners = new WeakMap<Driver, Listener>()

function listenerOf(driver: Driver): Listener {
  let l = listeners.get(driver)
  if (!l) {
    const random = Math.floor(Math.random() * 2 ** 48).toString(36)
    l = { channel: `ferry_commit_${random}`, waiting: new Map(), watches: 0 }
    listeners.set(driver, l)
  }
  return l
}

/**
 * Opens the session that hears commits, once per driver, without waiting for it (the driver's
 * connection of its own, shared with notifications and liveness): it must not hold up the
 * application's transaction. Until it listens, commits are read from `txid_status()`. It is
 * released once no joined write waits for its transaction.
 */
function listen(driver: Driver, l: Listener): void {
  if (l.session) return
  const opening = (async () => {
    const session = await driver.session()
    session.onEnd(() => {
      // Heard no more: the waiting ones are read from their status. The next watch reopens it.
      if (l.session === opening) delete l.session
    })
    await session.listen(l.channel, (xid) => l.waiting.get(xid)?.())
    return session
  })().catch(() => {
    if (l.session === opening) delete l.session
    return undefined
  })
  l.session = opening
}

/** A watch ended: the last one releases the session. */
function unwatch(l: Listener): void {
  l.watches -= 1
  if (l.watches > 0 || !l.session) return
  const opening = l.session
  delete l.session
  void opening.then((session) => session?.release()).catch(() => undefined)
}

/** A row a joined write wrote: `table` schema-qualified and quoted, `column` its key column. */
export interface Written {
  table: string
  column: string
  key: string
}

/**
 * Called inside the application's transaction, on it (`sql`), after a write. The function it
 * resolves with resolves true once that transaction has committed with the write, false once
 * it was rolled back or the write's savepoint was (known from `written`, a row the write wrote).
 */
export async function watchCommit(driver: Driver, sql: Sql, written?: Written): Promise<() => Promise<boolean>> {
  const sub = written ? `, (SELECT xmin::text FROM ${written.table} WHERE ${written.column} = $${driver.kind === 'pglite' ? 1 : 2}) AS sub` : ''
  const own = (row: { xid: string; sub?: string | null } | undefined): string => xidOf(row as { xid: string; sub?: string | null })
  if (driver.kind === 'pglite') {
    const [row] = await sql.query<{ xid: string; sub?: string | null }>(`SELECT txid_current()::text AS xid${sub}`, written ? [written.key] : [])
    const xid = own(row)
    return once(() => settled(driver, xid))
  }
  const l = listenerOf(driver)
  l.watches += 1
  listen(driver, l)
  let xid: string
  /** The top transaction's id, which the notification carries. */
  let heardAs: string
  try {
    const [row] = await sql.query<{ xid: string; sub?: string | null }>(
      `SELECT txid_current()::text AS xid, pg_notify($1, txid_current()::text)${sub}`,
      written ? [l.channel, written.key] : [l.channel],
    )
    heardAs = (row as { xid: string }).xid
    xid = own(row)
  } catch (error) {
    unwatch(l)
    throw error
  }
  let heard!: () => void
  const committed = new Promise<void>((resolve) => {
    heard = resolve
  })
  l.waiting.set(heardAs, heard)
  return once(async () => {
    try {
      return await settled(driver, xid, committed)
    } finally {
      l.waiting.delete(heardAs)
      unwatch(l)
    }
  })
}

/**
 * The transaction id to ask `txid_status()` about: the write's subtransaction, from the 32-bit
 * `xmin` of its row and the epoch of the top transaction's (a subtransaction's id comes after
 * its parent's, so a smaller one is of the next epoch); the top transaction's without a row.
 */
function xidOf(row: { xid: string; sub?: string | null }): string {
  if (row.sub === undefined || row.sub === null) return row.xid
  const top = BigInt(row.xid)
  const sub = BigInt(row.sub)
  const epoch = (top >> 32n) + (sub < (top & 0xffffffffn) ? 1n : 0n)
  return ((epoch << 32n) | sub).toString()
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined
  return () => (result ??= fn())
}

/** Resolves once the transaction ended: true when it committed. */
async function settled(driver: Driver, xid: string, heard?: Promise<void>): Promise<boolean> {
  let pause = FIRST_PAUSE_MS
  for (;;) {
    const [row] = await driver.query<{ status: string | null }>('SELECT txid_status($1::bigint) AS status', [xid])
    const status = row?.status
    // null: too old for Postgres to remember, so long ended; a transaction that wrote a job
    // and was rolled back is not forgotten that soon.
    if (status !== 'in progress') return status !== 'aborted'
    let timer: ReturnType<typeof setTimeout> | undefined
    const paused = new Promise<'paused'>((resolve) => {
      timer = setTimeout(() => resolve('paused'), pause)
    })
    const woke = await Promise.race(heard ? [paused, heard.then(() => 'heard' as const)] : [paused])
    clearTimeout(timer)
    if (woke === 'heard') return true
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS)
  }
}
