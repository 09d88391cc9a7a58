import { PGlite } from '@electric-sql/pglite'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { InvalidArgumentError } from '../../../src/core/errors.js'
import { serverClock } from '../../../src/storage/postgres/clock.js'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import { testPool } from '../../helpers/postgres.js'

const pool = testPool({ max: 4 })
const driver = pgDriver(pool)

/** How far the measured offset may be from the truth: the server runs on this machine, under load. */
const CLOSE_MS = 20

/** A driver that counts the statements it is sent. */
function counting(d: Driver): Driver & { readonly statements: number } {
  let statements = 0
  return {
    kind: d.kind,
    transaction: (fn) => d.transaction(fn),
    query: (text, params) => {
      statements++
      return d.query(text, params)
    },
    joined: (tx) => d.joined(tx),
    session: () => d.session(),
    close: () => d.close(),
    get statements() {
      return statements
    },
  }
}

/** A local time source `shift` ms off the real time, as a machine whose clock is wrong has. */
function shifted(initial: number): { now: () => number; shift: number } {
  const s = { shift: initial, now: () => Date.now() + s.shift }
  return s
}

/** The server's time, read now. */
async function serverNow(): Promise<number> {
  const { rows } = await pool.query<{ t: number }>('SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS t')
  return Number(rows[0]?.t)
}

const clocks: { close(): void }[] = []
afterEach(() => {
  for (const c of clocks.splice(0)) c.close()
})
function clockOf(o: Parameters<typeof serverClock>[0]): ReturnType<typeof serverClock> {
  const c = serverClock(o)
  clocks.push(c)
  return c
}

// Generous: the machine may be busy, and a measurement is several round trips.
describe('serverClock on a server', { timeout: 30_000 }, () => {
  it.each([60_000, -120_000, 2_500])('finds the offset of a local clock %i ms off the server', async (shift) => {
    const local = shifted(shift)
    const clock = clockOf({ driver, now: local.now })
    await clock.sync()
    // The server runs on this machine: its clock is the real time, the truth is -shift.
    expect(Math.abs(clock.offsetMs + shift)).toBeLessThanOrEqual(CLOSE_MS)
    const before = await serverNow()
    const t = clock.now()
    const after = await serverNow()
    expect(t).toBeGreaterThanOrEqual(before - CLOSE_MS)
    expect(t).toBeLessThanOrEqual(after + CLOSE_MS)
  })

  it('measures again by itself while open, and not once closed', async () => {
    const local = shifted(30_000)
    const counted = counting(driver)
    const clock = clockOf({ driver: counted, now: local.now, syncMs: 50 })
    await clock.sync()
    expect(Math.abs(clock.offsetMs + 30_000)).toBeLessThanOrEqual(CLOSE_MS)
    // The local clock is set back by a minute (and the store never told).
    local.shift -= 60_000
    await expect.poll(() => Math.abs(clock.offsetMs - 30_000), { timeout: 10_000 }).toBeLessThanOrEqual(CLOSE_MS)
    expect(Math.abs(clock.now() - Date.now())).toBeLessThanOrEqual(CLOSE_MS)
    clock.close()
    const sent = counted.statements
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(counted.statements).toBe(sent)
  })

  it('never goes back by more than a small step when a measurement sets it back a little', async () => {
    const local = shifted(0)
    const clock = clockOf({ driver, now: local.now })
    await clock.sync()
    const offset = clock.offsetMs
    // The local clock gains 300 ms: the next measurement takes them back.
    local.shift += 300
    const before = clock.now()
    await clock.sync()
    expect(clock.offsetMs).toBeLessThan(offset - 300 + CLOSE_MS)
    const readings: number[] = []
    const end = Date.now() + 600
    while (Date.now() < end) {
      readings.push(clock.now())
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    expect(readings[0]).toBeGreaterThanOrEqual(before)
    for (let i = 1; i < readings.length; i++) expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1] as number)
    // Held, then caught up: the server's time again.
    expect(Math.abs(clock.now() - (local.now() + clock.offsetMs))).toBeLessThanOrEqual(1)
  })

  it('steps back at once when the local clock jumped far ahead: holding would run ahead of the others for as long', async () => {
    const local = shifted(0)
    const clock = clockOf({ driver, now: local.now })
    await clock.sync()
    local.shift += 10_000
    await clock.sync()
    const before = await serverNow()
    const t = clock.now()
    expect(Math.abs(t - before)).toBeLessThanOrEqual(CLOSE_MS)
  })

  it("delegates timers to the platform's", async () => {
    const clock = clockOf({ driver, now: shifted(60_000).now })
    await clock.sync()
    let fired = false
    const cancelled = clock.setTimeout(() => expect.fail('a cleared timer fired'), 5)
    clock.clearTimeout(cancelled)
    await new Promise<void>((resolve) => clock.setTimeout(() => resolve(void (fired = true)), 10))
    expect(fired).toBe(true)
  })

  it('shares one measurement between calls made together', async () => {
    const counted = counting(driver)
    const clock = clockOf({ driver: counted })
    await Promise.all([clock.sync(), clock.sync(), clock.sync()])
    const once = counted.statements
    await clock.sync()
    expect(counted.statements).toBe(2 * once)
  })

  it("rejects with the connection's error, keeping the offset it had", async () => {
    const clock = clockOf({ driver, now: shifted(10_000).now })
    await clock.sync()
    const offset = clock.offsetMs
    const failing: Driver = { ...driver, kind: 'pg', query: () => Promise.reject(new Error('connection refused')) }
    const broken = clockOf({ driver: failing })
    await expect(broken.sync()).rejects.toThrow('connection refused')
    expect(broken.offsetMs).toBe(0)
    expect(clock.offsetMs).toBe(offset)
  })

  it('refuses options it cannot use', () => {
    expect(() => serverClock({ driver, syncMs: 0 })).toThrow(InvalidArgumentError)
    expect(() => serverClock({ driver, syncMs: Number.NaN })).toThrow(InvalidArgumentError)
    expect(() => serverClock({ driver: undefined as unknown as Driver })).toThrow(InvalidArgumentError)
  })
})

describe('serverClock on PGlite', { timeout: 30_000 }, () => {
  const db = new PGlite()
  afterAll(() => db.close())

  it('is the local clock: the database runs in this process', async () => {
    const counted = counting(pgliteDriver(db))
    const local = shifted(60_000)
    const clock = clockOf({ driver: counted, now: local.now, syncMs: 10 })
    await clock.sync()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(clock.offsetMs).toBe(0)
    expect(counted.statements).toBe(0)
    expect(Math.abs(clock.now() - local.now())).toBeLessThanOrEqual(1)
  })
})
