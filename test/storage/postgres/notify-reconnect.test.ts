import pg from 'pg'
import { describe, expect, it, vi } from 'vitest'
import type { QueueEvent } from '../../../src/core/types.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { channelOf, notifications } from '../../../src/storage/postgres/notify.js'
import { ManualClock } from '../../../src/testing/manual-clock.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

/** Generous: the machine may be busy. */
const soon = { timeout: 20_000 }
const dispatched = (jobId: string): QueueEvent => ({ kind: 'job:dispatched', at: 1000, jobId, type: 'email', queue: 'default' })

describe('notifications when the listening connection is lost', { timeout: 60_000 }, () => {
  const pool = testPool()
  const other = testPool()

  /** The server processes listening on `channel`. */
  const listeners = async (channel: string): Promise<number[]> =>
    (
      await other.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'idle'", [`LISTEN "${channel}"`])
    ).rows.map((r) => r.pid)

  it('tells [] every pollMs while down, reconnects, tells [] once it listens again, and hears the next events', async () => {
    const schema = freshSchema()
    const clock = new ManualClock()
    const sender = notifications({ driver: pgDriver(other), schema })
    const share = notifications({ driver: pgDriver(pool), schema, pollMs: 100, clock })
    try {
      const calls: QueueEvent[][] = []
      share.subscribe((events) => calls.push(events))
      await vi.waitFor(() => expect(calls).toEqual([[]]), soon)
      expect(clock.pending).toBe(0)

      const [pid] = await listeners(channelOf(schema))
      expect(pid).toBeDefined()
      await other.query('SELECT pg_terminate_backend($1)', [pid])
      // Down: a poll and a reconnect are due.
      await vi.waitFor(() => expect(clock.pending).toBe(2), soon)
      calls.length = 0

      // The first reconnect waits at least 125 ms: the polls at 100 and 200 come first.
      clock.advance(100)
      expect(calls).toEqual([[]])
      expect(await listeners(channelOf(schema))).toEqual([])
      clock.advance(100)
      expect(calls).toEqual([[], []])

      // Reconnected: told [] once more, and no timer left.
      clock.advance(50)
      await vi.waitFor(() => expect(clock.pending).toBe(0), soon)
      expect(calls).toEqual([[], [], []])
      expect(await listeners(channelOf(schema))).toHaveLength(1)

      calls.length = 0
      sender.publish([dispatched('after')])
      await vi.waitFor(() => expect(calls).toEqual([[dispatched('after')]]), soon)
    } finally {
      await Promise.all([share.close(), sender.close()])
    }
    expect(clock.pending).toBe(0)
  })

  it('keeps trying with doubling waits while it cannot connect, polling all along', async () => {
    const schema = freshSchema()
    const role = `r_${schema}`
    await other.query(`CREATE ROLE ${role} LOGIN`)
    const url = new URL(postgresUrl())
    url.username = role
    const rolePool = new pg.Pool({ connectionString: url.toString() })
    const clock = new ManualClock()
    const share = notifications({ driver: pgDriver(rolePool), schema, pollMs: 300, clock })
    try {
      const calls: QueueEvent[][] = []
      share.subscribe((events) => calls.push(events))
      await vi.waitFor(() => expect(calls).toEqual([[]]), soon)
      // No new connection of this role is let in, and the one listening is killed.
      await other.query(`ALTER ROLE ${role} CONNECTION LIMIT 0`)
      const [pid] = await listeners(channelOf(schema))
      await other.query('SELECT pg_terminate_backend($1)', [pid])
      await vi.waitFor(() => expect(clock.pending).toBe(2), soon)
      calls.length = 0
      for (let round = 0; round < 3; round++) {
        // Between 125 and 250 ms before the first attempt, 250 and 500 before the second, 500 and 1000 before the third.
        clock.advance(125 * 2 ** round - 1)
        expect(clock.pending).toBe(2)
        clock.advance(125 * 2 ** round + 1)
        // The attempt is under way (only the poll is due), then fails (a next attempt is due).
        expect(clock.pending).toBe(1)
        await vi.waitFor(() => expect(clock.pending).toBe(2), soon)
      }
      // 1750 ms went by: a poll every 300 ms.
      expect(calls).toEqual(Array.from({ length: 5 }, () => []))
      await other.query(`ALTER ROLE ${role} CONNECTION LIMIT -1`)
      clock.advance(2000)
      await vi.waitFor(() => expect(clock.pending).toBe(0), soon)
      calls.length = 0
      const sender = notifications({ driver: pgDriver(other), schema })
      sender.publish([dispatched('back')])
      await vi.waitFor(() => expect(calls).toEqual([[dispatched('back')]]), soon)
      await sender.close()
    } finally {
      await share.close()
      await rolePool.end()
      await other.query(`DROP ROLE ${role}`)
    }
  })

  it('waits longer each time a connection is dropped as soon as it listens, and starts small again after one stayed up', async () => {
    const schema = freshSchema()
    const clock = new ManualClock()
    const share = notifications({ driver: pgDriver(pool), schema, pollMs: 10_000, clock })
    try {
      const calls: QueueEvent[][] = []
      share.subscribe((events) => calls.push(events))
      await vi.waitFor(() => expect(calls).toEqual([[]]), soon)
      const kill = async (): Promise<void> => {
        const pid = await vi.waitFor(async () => {
          const [p] = await listeners(channelOf(schema))
          expect(p).toBeDefined()
          return p
        }, soon)
        await other.query('SELECT pg_terminate_backend($1)', [pid])
        await vi.waitFor(() => expect(clock.pending).toBe(2), soon)
      }
      /** The next reconnect is not due before `min` ms and is due by `max`; it then listens. */
      const reconnectsWithin = async (min: number, max: number): Promise<void> => {
        clock.advance(min - 1)
        expect(clock.pending).toBe(2)
        clock.advance(max - min + 1)
        await vi.waitFor(() => expect(clock.pending).toBe(0), soon)
      }
      await kill()
      await reconnectsWithin(125, 250)
      await kill()
      await reconnectsWithin(250, 500)
      await kill()
      await reconnectsWithin(500, 1000)
      clock.advance(60_000)
      await kill()
      await reconnectsWithin(125, 250)
    } finally {
      await share.close()
    }
  })

  it('leaves no timer and does not reconnect once the last subscriber leaves while down', async () => {
    const schema = freshSchema()
    const clock = new ManualClock()
    const share = notifications({ driver: pgDriver(pool), schema, pollMs: 1000, clock })
    try {
      const calls: QueueEvent[][] = []
      const stop = share.subscribe((events) => calls.push(events))
      await vi.waitFor(() => expect(calls).toEqual([[]]), soon)
      const [pid] = await listeners(channelOf(schema))
      await other.query('SELECT pg_terminate_backend($1)', [pid])
      await vi.waitFor(() => expect(clock.pending).toBe(2), soon)
      stop()
      expect(clock.pending).toBe(0)
      clock.advance(60_000)
      expect(await listeners(channelOf(schema))).toEqual([])
      expect(calls).toEqual([[]])
    } finally {
      await share.close()
    }
  })
})
