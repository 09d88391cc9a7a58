/**
 * Liveness on a PostgreSQL server (DESIGN §8): each engine owner is a session advisory lock,
 * which the server releases the moment the connection holding it ends, a killed process's too.
 *
 * - One `Session` per store holds a lock per owner: `pg_try_advisory_lock(ns, key)`, two int4 keys
 *   (`objsubid = 2` in `pg_locks`, a space apart from the one-bigint locks transactions take).
 *   `ns` is the oid of the table below, so that stores of different schemas never share a key.
 *   A key whose lock some other session holds is never waited for: the hold takes a fresh one.
 * - Owners are strings and lock keys are numbers: the table `<schema>.engine_locks(key, owner)`
 *   maps them back. A row is inserted and its lock taken in one statement, so no one sees the
 *   row before its lock is held; a row whose lock is not held is a dead (or releasing) engine,
 *   and such rows are deleted when an owner is held. `alive()` joins the rows with the granted
 *   locks of this database: a dead engine's lock is gone, so it is never listed, and a live
 *   engine's lock and row are both there, so it always is (while its connection is up).
 * - The connection drops (server restart, network): the locks went with it and, until they are
 *   taken again, other engines see these owners dead. The liveness reconnects at once and
 *   takes the same locks again; when it cannot (the server stays away, or the old backend still
 *   holds a lock and cannot be ended), `onLost` tells the engine, which holds again under a new
 *   owner. A job taken over meanwhile is protected by its lease token, as after any takeover.
 * - `watch()` polls `alive()` every `pollMs` while someone listens and some other engine has
 *   been seen alive, and calls the listeners when one of those is gone.
 *
 * The table is created here, not by the store's migrations: liveness is optional (a server
 * only, not PGlite), the store's data never refers to it, and the DDL is idempotent
 * (`IF NOT EXISTS`, under the lock the migrations take, so that the schema is never created by
 * both at once). It is created only once the store's migrations succeeded (`ready`): a schema
 * of a newer ferry is never changed.
 *
 * @module
 */
import { InvalidArgumentError, StorageError } from '../../core/errors.js'
import type { Liveness } from '../../core/liveness.js'
import type { Driver, Session } from './driver.js'

export interface PostgresLivenessOptions {
  driver: Driver
  /** The store's schema (namespace), a lowercase identifier. */
  schema: string
  /**
   * How often `watch` checks which engines are alive, while listened to.
   * @default 1000
   */
  pollMs?: number
  /**
   * Resolves once the store's schema is migrated (the store's own `ready`): nothing of the
   * liveness's runs before, so a schema it may not change (of a newer ferry) is never changed,
   * and its rejection is what `hold` and `alive` reject with.
   */
  ready?: () => Promise<void>
  /**
   * Delays of the attempts to take the locks again after the connection dropped; `onLost`
   * once they all failed.
   * @default [0, 100, 500, 1000, 2000, 5000]
   */
  reconnectMs?: readonly number[]
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/
/** Errors of two processes creating one table or schema at once: the other one won, try again. */
const CREATE_RACE = new Set(['23505', '42P06', '42P07'])
/** Fresh keys a hold tries when another session holds the lock of the one it got. */
const HOLD_ATTEMPTS = 20

interface Held {
  /** Its lock's second key; 0 until the hold took the lock for the first time. */
  key: number
  onLost: (() => void) | undefined
  /** The session holding its lock; undefined while it is to be taken again. */
  on: Session | undefined
}

export function postgresLiveness(o: PostgresLivenessOptions): Liveness & { close(): Promise<void> } {
  const { driver, schema } = o
  if (typeof schema !== 'string' || !SCHEMA.test(schema)) {
    throw new InvalidArgumentError(`schema must be a lowercase identifier (${SCHEMA.source}), got ${String(schema)}`)
  }
  const pollMs = o.pollMs ?? 1000
  if (typeof pollMs !== 'number' || !(pollMs > 0)) throw new InvalidArgumentError(`pollMs must be a positive number, got ${String(pollMs)}`)
  const reconnectMs = o.reconnectMs ?? [0, 100, 500, 1000, 2000, 5000]
  const table = `"${schema}"."engine_locks"`
  /** The locks of this database in the liveness's key space, as `l`. */
  const locks = `pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = $1::oid
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`

  const held = new Map<string, Held>()
  /** Other engines seen alive by the last `alive()`. */
  let seen = new Set<string>()
  const listeners = new Set<() => void>()
  let pollTimer: ReturnType<typeof setTimeout> | undefined
  let closed = false
  let ready: Promise<number> | undefined
  /** The session, connecting or connected; `session` once it is there. */
  let current: Promise<Session> | undefined
  let session: Session | undefined
  /** Backend pids of sessions that dropped: one may still hold a lock the server has not released. */
  const droppedPids = new Set<number>()
  const pids = new Map<Session, number>()
  let retaking = false
  let retakeAgain = false

  /** Creates the table once; resolves with `ns`, its oid (as the uint32 `pg_locks` shows). */
  function ensureTable(): Promise<number> {
    ready ??= (async () => {
      await o.ready?.()
      for (let attempt = 0; ; attempt++) {
        try {
          await driver.transaction(async (sql) => {
            // The lock migrate.ts takes: the schema is never created by both at once.
            await sql.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ferry migrate "${schema}"`])
            await sql.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`)
            await sql.query(`CREATE TABLE IF NOT EXISTS ${table} (key integer GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, owner text NOT NULL)`)
          })
          break
        } catch (error) {
          if (attempt >= 3 || !CREATE_RACE.has((error as { code?: string }).code ?? '')) throw error
        }
      }
      const [row] = await driver.query<{ ns: string | number }>(`SELECT $1::regclass::oid AS ns`, [table])
      return Number(row?.ns)
    })()
    ready.catch(() => {
      ready = undefined
    })
    return ready
  }

  /** Held once, its lock gone with a dropped connection (a hold still taking its first lock is not). */
  const lost = (h: Held): boolean => h.key > 0 && h.on === undefined

  /** `pg_advisory_lock` takes int4: the table's oid, a uint32, as the int4 of the same bits. */
  const int4 = (ns: number): number => ns | 0

  function connect(): Promise<Session> {
    current ??= (async () => {
      const s = await driver.session()
      if (closed) {
        await s.release()
        throw new InvalidArgumentError('this liveness is closed')
      }
      session = s
      try {
        const [row] = await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        pids.set(s, Number(row?.pid))
      } catch (error) {
        session = undefined
        await s.release()
        throw error
      }
      s.onEnd(() => dropped(s))
      return s
    })()
    const connecting = current
    connecting.catch(() => {
      if (current === connecting) current = undefined
    })
    return connecting
  }

  function dropped(s: Session): void {
    // Gives a pool client back (closed, not pooled again): a dropped connection keeps no slot.
    s.release().catch(() => undefined)
    const pid = pids.get(s)
    pids.delete(s)
    if (pid !== undefined) droppedPids.add(pid)
    if (session === s) {
      session = undefined
      current = undefined
    }
    for (const h of held.values()) if (h.on === s) h.on = undefined
    if (!closed && [...held.values()].some(lost)) retake()
  }

  /** Takes again the locks a dropped connection lost, with the same keys; `onLost` for those it cannot. */
  function retake(): void {
    if (retaking) {
      retakeAgain = true
      return
    }
    retaking = true
    void (async () => {
      do {
        retakeAgain = false
        for (const delay of reconnectMs) {
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay))
          if (closed) return
          const pending = [...held.entries()].filter(([, h]) => lost(h))
          if (pending.length === 0) {
            droppedPids.clear()
            break
          }
          try {
            const [ns, s] = await Promise.all([ensureTable(), connect()])
            for (const [owner, h] of pending) {
              const [row] = await s.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [int4(ns), h.key])
              if (!row?.locked) {
                // The server has not yet seen the old connection end: end its backend, and try again next time.
                await s.query(`SELECT pg_terminate_backend(l.pid) FROM ${locks} AND l.objid = $2::oid AND l.pid = ANY($3::int[])`, [
                  ns,
                  h.key,
                  [...droppedPids],
                ])
                continue
              }
              if (held.get(owner) !== h) {
                // Released meanwhile.
                await s.query('SELECT pg_advisory_unlock($1, $2)', [int4(ns), h.key])
                continue
              }
              h.on = s
              // The row may have been deleted as a dead engine's while the lock was not held.
              await s.query(`INSERT INTO ${table} (key, owner) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, [h.key, owner])
            }
          } catch {
            // The server is not back yet: the next attempt.
          }
        }
        for (const [owner, h] of [...held.entries()]) {
          if (!lost(h)) continue
          held.delete(owner)
          try {
            h.onLost?.()
          } catch {
            // A listener's failure is its own.
          }
        }
      } while (retakeAgain && !closed)
    })().finally(() => {
      retaking = false
    })
  }

  async function alive(): Promise<string[]> {
    const ns = await ensureTable()
    const rows = await driver.query<{ owner: string }>(`SELECT e.owner FROM ${table} e WHERE EXISTS (SELECT 1 FROM ${locks} AND l.objid = e.key::oid)`, [ns])
    const owners = [...new Set(rows.map((r) => r.owner))]
    const others = new Set(owners.filter((owner) => !held.has(owner)))
    const died = [...seen].some((owner) => !others.has(owner))
    seen = others
    if (died) {
      for (const l of [...listeners]) {
        try {
          l()
        } catch {
          // A listener's failure is its own.
        }
      }
    }
    schedulePoll()
    return owners
  }

  /** Polls while someone listens and there is an engine whose death they would hear of. */
  function schedulePoll(): void {
    if (pollTimer !== undefined || closed || listeners.size === 0 || seen.size === 0) return
    pollTimer = setTimeout(() => {
      pollTimer = undefined
      alive().catch(() => schedulePoll())
    }, pollMs)
    // A liveness never keeps a Node process alive on its own.
    ;(pollTimer as { unref?: () => void }).unref?.()
  }

  return {
    async hold(owner, onLost) {
      if (typeof owner !== 'string' || owner.length === 0) throw new InvalidArgumentError(`an owner must be a non-empty string, got ${String(owner)}`)
      if (closed) throw new InvalidArgumentError('this liveness is closed')
      if (held.has(owner)) throw new InvalidArgumentError(`owner ${owner} is held already`)
      const h: Held = { key: 0, onLost, on: undefined }
      held.set(owner, h)
      try {
        const [ns, s] = await Promise.all([ensureTable(), connect()])
        // One statement: the row commits with its lock already held. Never waits: a key whose
        // lock another session of the database holds (not ferry's) is left for a fresh one.
        let row: { key: number } | undefined
        for (let attempt = 1; row === undefined; attempt++) {
          const [taken] = await s.query<{ key: number; locked: boolean }>(
            `WITH r AS (INSERT INTO ${table} (owner) VALUES ($2) RETURNING key) SELECT key, pg_try_advisory_lock($1, key) AS locked FROM r`,
            [int4(ns), owner],
          )
          if (taken?.locked) {
            row = taken
            break
          }
          await s.query(`DELETE FROM ${table} WHERE key = $1`, [Number(taken?.key)])
          if (attempt >= HOLD_ATTEMPTS) {
            throw new StorageError(
              `the Postgres store (schema "${schema}") could not hold an engine: ${HOLD_ATTEMPTS} lock keys in a row are held by other sessions ` +
                `(pg_advisory_lock(${int4(ns)}, key) on the oid of ${table} is the store's key space)`,
              { code: 'LIVENESS_KEYS_TAKEN' },
            )
          }
        }
        h.key = Number(row?.key)
        h.on = s
        // Rows of engines whose locks are gone: dead ones, left behind by a kill.
        await s.query(`DELETE FROM ${table} e WHERE NOT EXISTS (SELECT 1 FROM ${locks} AND l.objid = e.key::oid)`, [ns])
      } catch (error) {
        if (held.get(owner) === h) held.delete(owner)
        throw error
      }
      let released = false
      return () => {
        if (released) return
        released = true
        if (held.get(owner) === h) held.delete(owner)
        const s = h.on
        h.on = undefined
        void (async () => {
          const ns = await ensureTable()
          if (s !== undefined) await s.query('SELECT pg_advisory_unlock($1, $2)', [int4(ns), h.key])
          await driver.query(`DELETE FROM ${table} WHERE key = $1`, [h.key])
        })().catch(() => {
          // The connection is gone, and the lock with it; the row is deleted as a dead engine's.
        })
      }
    },
    alive,
    watch(listener) {
      const l = (): void => listener()
      listeners.add(l)
      schedulePoll()
      return () => {
        listeners.delete(l)
        if (listeners.size > 0 || pollTimer === undefined) return
        clearTimeout(pollTimer)
        pollTimer = undefined
      }
    },
    async close() {
      if (closed) return
      closed = true
      if (pollTimer !== undefined) clearTimeout(pollTimer)
      pollTimer = undefined
      listeners.clear()
      const holding = [...held.values()]
      held.clear()
      const s = await current?.catch(() => undefined)
      current = undefined
      session = undefined
      if (s !== undefined) {
        // The connection may be shared with others of the store and stay open: each lock is
        // given back, and the rows go; a connection that closes releases them anyway.
        const ns = await ready?.catch(() => undefined)
        for (const h of holding) {
          if (h.on !== s || ns === undefined) continue
          await s.query('SELECT pg_advisory_unlock($1, $2)', [int4(ns), h.key]).catch(() => undefined)
          await s.query(`DELETE FROM ${table} WHERE key = $1`, [h.key]).catch(() => undefined)
        }
      }
      await s?.release()
    },
  }
}
