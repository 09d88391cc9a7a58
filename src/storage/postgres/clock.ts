/**
 * `serverClock`: the database server's time, for every engine on a Postgres store.
 *
 * Engines in different processes compare lease ends and due times that each wrote with its own
 * clock: a process whose clock runs ahead by more than a lease takes over the running jobs of
 * live engines, and fires schedules a second time. Server queues read the database's clock in
 * SQL; ferry's engine takes its time from a `Clock`, so this one is the local clock plus the
 * offset measured against the server's `clock_timestamp()`.
 *
 * - A measurement: a few round trips one after another; each one's server time is taken to be
 *   that of the middle of its round trip, and the one of the shortest round trip is kept (its
 *   error is at most half of it).
 * - Measured when the store first needs it (`sync()`) and again every `syncMs` while open, on
 *   a timer that never keeps a Node process alive.
 * - A measurement that sets the time back by at most `HOLD_MS` is slewed: `now()` holds still
 *   until the local clock has caught up, so it never goes back. A larger one means the local
 *   clock was stepped: the time steps back with it, since holding that long would leave this
 *   process ahead of the others, taking over their jobs, for as long.
 * - PGlite runs in this process, on its clock: the offset is 0 and nothing is measured.
 *
 * @module
 */
import { systemClock } from '../../core/clock.js'
import { InvalidArgumentError } from '../../core/errors.js'
import type { Clock } from '../../core/types.js'
import type { Driver } from './driver.js'

export interface ServerClockOptions {
  /** The store's connection to the database. */
  driver: Driver
  /**
   * The local time, in epoch ms. Read on every call.
   * @default Date.now
   */
  now?: () => number
  /**
   * How often the offset is measured again while the clock is open.
   * @default 60_000
   */
  syncMs?: number
}

export interface ServerClock extends Clock {
  /** Measures the offset now (calls made while one runs share it); rejects with the connection's error, keeping the last offset. */
  sync(): Promise<void>
  /** The server's time minus the local time, as last measured; 0 until then. */
  readonly offsetMs: number
  /** Stops measuring. */
  close(): void
}

/** Round trips per measurement. */
const SAMPLES = 5
/** The largest step back that is slewed rather than taken at once. */
const HOLD_MS = 1000

const SERVER_NOW = 'SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS t'

/**
 * The server's time for the engines of a Postgres store.
 * @throws InvalidArgumentError when `driver` is missing or `syncMs` is not a positive number
 * @example
 * const clock = serverClock({ driver })
 * await clock.sync()
 * const queue = createQueue({ store, clock })
 */
export function serverClock(o: ServerClockOptions): ServerClock {
  const driver = o.driver
  if (typeof (driver as Partial<Driver> | null | undefined)?.query !== 'function') {
    throw new InvalidArgumentError('serverClock: driver must be the store\'s Driver')
  }
  const syncMs = o.syncMs ?? 60_000
  if (typeof syncMs !== 'number' || !(syncMs > 0)) throw new InvalidArgumentError(`serverClock: syncMs must be a positive number, got ${String(syncMs)}`)
  const local = o.now ?? (() => Date.now())
  const remote = driver.kind === 'pg'

  let offset = 0
  /** The latest time `now()` returned: a small correction back holds at it. */
  let last = Number.NEGATIVE_INFINITY
  let running: Promise<void> | undefined
  let timer: unknown
  let closed = false

  async function measure(): Promise<number> {
    let best = { rtt: Number.POSITIVE_INFINITY, offset: 0 }
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = local()
      const [row] = await driver.query<{ t: number | string }>(SERVER_NOW)
      const t1 = local()
      const server = Number(row?.t)
      if (!Number.isFinite(server)) throw new Error(`serverClock: the server's time could not be read (got ${String(row?.t)})`)
      const rtt = t1 - t0
      if (rtt < best.rtt) best = { rtt, offset: server - (t0 + t1) / 2 }
    }
    return best.offset
  }

  function arm(): void {
    if (closed || !remote) return
    timer = systemClock.setTimeout(() => {
      timer = undefined
      // A failed measurement keeps the offset it had; the next one (armed by sync) tries again.
      clock.sync().catch(() => undefined)
    }, syncMs)
    ;(timer as { unref?: () => void }).unref?.()
  }

  function sync(): Promise<void> {
    if (!remote || closed) return Promise.resolve()
    running ??= measure()
      .then((measured) => {
        // A large step back is taken at once (see the module's comment); a small one holds.
        if (offset - measured > HOLD_MS) last = Number.NEGATIVE_INFINITY
        offset = measured
      })
      .finally(() => {
        running = undefined
        if (timer !== undefined) systemClock.clearTimeout(timer)
        timer = undefined
        arm()
      })
    return running
  }

  const clock: ServerClock = {
    now() {
      const t = local() + offset
      if (t < last && last - t <= HOLD_MS) return last
      last = t
      return t
    },
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
    clearTimeout: (handle) => systemClock.clearTimeout(handle),
    sync,
    get offsetMs() {
      return offset
    },
    close() {
      closed = true
      if (timer !== undefined) systemClock.clearTimeout(timer)
      timer = undefined
    },
  }
  arm()
  return clock
}
