import { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError } from '../../../src/core/errors.js'
import type { QueueEvent } from '../../../src/core/types.js'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { pgliteDriver } from '../../../src/storage/postgres/driver-pglite.js'
import {
  MAX_PAYLOAD,
  NOTIFY_SQL,
  channelOf,
  decodeNotification,
  encodeNotifications,
  notifications,
  reduced,
} from '../../../src/storage/postgres/notify.js'
import { ManualClock } from '../../../src/testing/manual-clock.js'
import { freshSchema, postgresUrl } from '../../helpers/postgres.js'

/** Generous: the machine may be busy, and PGlite takes seconds to start there. */
const soon = { timeout: 20_000 }

const dispatched = (jobId: string, extra: Record<string, unknown> = {}): QueueEvent =>
  ({ kind: 'job:dispatched', at: 1000, jobId, type: 'email', queue: 'default', ...extra })

/** Every event a listener heard, and each call's list. */
function recorder(): { calls: QueueEvent[][]; events: () => QueueEvent[]; listener: (events: QueueEvent[]) => void } {
  const calls: QueueEvent[][] = []
  return { calls, events: () => calls.flat(), listener: (events) => calls.push(events) }
}

describe('encodeNotifications', () => {
  it('cuts a long list into payloads under 8000 bytes that decode to the same events in order', () => {
    const events = Array.from({ length: 500 }, (_, i) => dispatched(`job-${i}`, { type: `type-${'x'.repeat(i % 50)}` }))
    const payloads = encodeNotifications(events, 'a1')
    expect(payloads.length).toBeGreaterThan(1)
    for (const p of payloads) expect(new TextEncoder().encode(p).length).toBeLessThanOrEqual(MAX_PAYLOAD)
    expect(payloads.flatMap((p) => decodeNotification(p, 'b2') ?? [])).toEqual(events)
  })

  it('sends an empty list as one payload that decodes to []', () => {
    const payloads = encodeNotifications([], 'a1')
    expect(payloads).toHaveLength(1)
    expect(decodeNotification(payloads[0]!, 'b2')).toEqual([])
  })

  it('writes payloads in ASCII whatever the characters of the events, and decodes them back', () => {
    const e = dispatched('job-ü', { type: 'メール 📧', queue: '\u0000\u007f\ud800' })
    const [payload] = encodeNotifications([e], 'a1')
    expect(payload).toMatch(/^[\x20-\x7e]*$/)
    expect(decodeNotification(payload!, 'b2')).toEqual([e])
  })

  it('sends an event too large alone reduced: no result, progress, stack or batch member ids; ids, kinds and due times kept', () => {
    const big = 'x'.repeat(20_000)
    const events: QueueEvent[] = [
      { kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't', result: big },
      { kind: 'job:progress', at: 2, jobId: 'j2', progress: { text: big } },
      { kind: 'job:retrying', at: 3, jobId: 'j3', type: 't', attempt: 2, retryAt: 5000, error: { name: 'Error', message: big, code: 'E', stack: big } },
      {
        kind: 'batch:started',
        at: 4,
        batchId: 'b1',
        state: {
          id: 'b1',
          state: 'running',
          total: 3000,
          pending: 3000,
          succeeded: 0,
          failed: 0,
          cancelled: 0,
          jobIds: Array.from({ length: 3000 }, (_, i) => `member-${i}`),
          createdAt: 4,
        },
      },
      dispatched('small'),
    ]
    const payloads = encodeNotifications(events, 'a1')
    for (const p of payloads) expect(p.length).toBeLessThanOrEqual(MAX_PAYLOAD)
    const heard = payloads.flatMap((p) => decodeNotification(p, 'b2') ?? [])
    expect(heard).toEqual([
      { kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't' },
      { kind: 'job:progress', at: 2, jobId: 'j2' },
      { kind: 'job:retrying', at: 3, jobId: 'j3', type: 't', attempt: 2, retryAt: 5000, error: { name: 'Error', message: 'x'.repeat(1000), code: 'E' } },
      { kind: 'batch:started', at: 4, batchId: 'b1', state: { id: 'b1', state: 'running', total: 3000, pending: 3000, succeeded: 0, failed: 0, cancelled: 0, createdAt: 4 } },
      dispatched('small'),
    ])
    expect(heard.slice(0, 4)).toEqual(events.slice(0, 4).map(reduced))
  })

  it('sends an event JSON cannot encode reduced', () => {
    const e = { kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't', result: { n: 10n } } as QueueEvent
    const heard = encodeNotifications([e], 'a1').flatMap((p) => decodeNotification(p, 'b2') ?? [])
    expect(heard).toEqual([{ kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't' }])
  })

  it('leaves out an event too large even reduced, and still sends a payload that wakes engines', () => {
    const huge = dispatched('i'.repeat(9000))
    const alone = encodeNotifications([huge], 'a1')
    expect(alone.map((p) => decodeNotification(p, 'b2'))).toEqual([[]])
    const withOthers = encodeNotifications([dispatched('a'), huge, dispatched('b')], 'a1')
    expect(withOthers.flatMap((p) => decodeNotification(p, 'b2') ?? [])).toEqual([dispatched('a'), dispatched('b')])
  })

  it('refuses a sender id that could not be read back', () => {
    expect(() => encodeNotifications([], '')).toThrow(InvalidArgumentError)
    expect(() => encodeNotifications([], 'a"b')).toThrow(InvalidArgumentError)
  })
})

describe('decodeNotification', () => {
  const ok = (events: unknown[]): string => JSON.stringify({ from: 'other', events })

  it('takes a payload of its own shape from another sender', () => {
    expect(decodeNotification(ok([dispatched('j')]), 'me')).toEqual([dispatched('j')])
  })

  it('skips its own notifications', () => {
    expect(decodeNotification(JSON.stringify({ from: 'me', events: [dispatched('j')] }), 'me')).toBeUndefined()
  })

  it.each([
    ['not JSON', '{"from":'],
    ['JSON of another shape', '[1,2]'],
    ['no sender', JSON.stringify({ events: [] })],
    ['a sender of another shape', JSON.stringify({ from: 'a b', events: [] })],
    ['events not a list', JSON.stringify({ from: 'other', events: {} })],
    ['an unknown kind', ok([{ kind: 'job:exploded', at: 1, jobId: 'j' }])],
    ['a kind never shared', ok([{ kind: 'queue:offline', at: 1 }])],
    ['a time that is not a number', ok([{ kind: 'job:dispatched', at: '1', jobId: 'j' }])],
    ['an id that is not a string', ok([{ kind: 'job:dispatched', at: 1, jobId: 7 }])],
    ['a missing id', ok([{ kind: 'job:cancelled', at: 1 }])],
    ['a retry without its time', ok([{ kind: 'job:retrying', at: 1, jobId: 'j', error: { name: 'E', message: 'm' } }])],
    ['a due time that is not a number', ok([{ kind: 'job:deferred', at: 1, jobId: 'j', runAt: 'soon' }])],
    ['an error of another shape', ok([{ kind: 'job:failed', at: 1, jobId: 'j', error: 'boom' }])],
    ['a batch state of another batch', ok([{ kind: 'batch:completed', at: 1, batchId: 'b', state: { id: 'c', total: 1, pending: 0, succeeded: 1, failed: 0, cancelled: 0, createdAt: 1 } }])],
    ['one bad event among good ones', ok([dispatched('j'), null])],
  ])('ignores %s', (_, payload) => {
    expect(decodeNotification(payload, 'me')).toBeUndefined()
  })
})

describe('notifications', () => {
  it('refuses a schema that is not a lowercase identifier and a poll interval that is not positive', () => {
    // A pool connects only when used: none of these gets that far.
    const driver = pgDriver(new pg.Pool())
    expect(() => notifications({ driver, schema: 'Ferry' })).toThrow(InvalidArgumentError)
    expect(() => notifications({ driver, schema: 'a;b' })).toThrow(InvalidArgumentError)
    expect(() => notifications({ driver, schema: 'ferry', pollMs: 0 })).toThrow(InvalidArgumentError)
    expect(() => notifications({ driver, schema: 'ferry', pollMs: Number.NaN })).toThrow(InvalidArgumentError)
  })

  it('names a channel from the schema, within the 63 bytes of an identifier', () => {
    expect(channelOf('ferry')).toBe('ferry_events')
    const long = 'a'.repeat(63)
    expect(channelOf(long).length).toBeLessThanOrEqual(63)
    expect(channelOf(long)).toMatch(/^[a-z_][a-z0-9_]*$/)
    expect(channelOf(long)).not.toBe(channelOf(`${'a'.repeat(62)}b`))
  })
})

/** What each scenario needs: two drivers over one database, as two stores (or processes) have. */
interface Setup {
  drivers(): [Driver, Driver]
  /** Runs a statement outside any store. */
  raw(sql: string, params?: unknown[]): Promise<unknown>
  /** How many connections listen on `channel`. */
  listeners(channel: string): Promise<number>
}

function scenarios(name: string, setup: () => Setup): void {
  describe(`notifications on ${name}`, { timeout: 60_000 }, () => {
    const s = setup()
    const closing: (() => Promise<void>)[] = []
    // Each listening store holds a connection of its pool: closed after each test, they leave the pool free.
    afterEach(async () => {
      for (const c of closing.splice(0)) await c()
    })
    const pair = (schema = freshSchema(), clock = new ManualClock()) => {
      const [da, db] = s.drivers()
      const a = notifications({ driver: da, schema, clock })
      const b = notifications({ driver: db, schema, clock })
      closing.push(() => a.close(), () => b.close())
      return { a, b, clock, schema }
    }
    /** Subscribes and waits for the `[]` told once the LISTEN took effect. */
    const listening = async (share: ReturnType<typeof pair>['a']) => {
      const r = recorder()
      const stop = share.subscribe(r.listener)
      await vi.waitFor(() => expect(r.calls).toEqual([[]]), soon)
      r.calls.length = 0
      return { ...r, stop }
    }

    it('tells the other store what one publishes, and never a store its own notifications', async () => {
      const { a, b } = pair()
      const ha = await listening(a)
      const hb = await listening(b)
      a.publish([dispatched('j1')])
      b.publish([dispatched('j2')])
      await vi.waitFor(() => expect(hb.events()).toEqual([dispatched('j1')]), soon)
      await vi.waitFor(() => expect(ha.events()).toEqual([dispatched('j2')]), soon)
      // A marker sent after both: once it is heard, anything else would have been too.
      b.publish([dispatched('marker')])
      await vi.waitFor(() => expect(ha.events()).toEqual([dispatched('j2'), dispatched('marker')]), soon)
      expect(hb.events()).toEqual([dispatched('j1')])
    })

    it('works for a schema name as long as an identifier can be', async () => {
      const { a, b } = pair(`s${'x'.repeat(62)}`)
      const hb = await listening(b)
      a.publish([dispatched('long')])
      await vi.waitFor(() => expect(hb.events()).toEqual([dispatched('long')]), soon)
    })

    it('hears a NOTIFY sent inside a write\'s transaction once it commits, and never one rolled back', async () => {
      const { a, b, schema } = pair()
      const [da] = s.drivers()
      const ha = await listening(a)
      const hb = await listening(b)
      const send = (events: QueueEvent[]) => (sql: { query: Driver['query'] }) =>
        sql.query(NOTIFY_SQL, [channelOf(schema), encodeNotifications(events, a.sender)])
      await expect(
        da.transaction(async (sql) => {
          await send([dispatched('rolled back')])(sql)
          throw new Error('rollback')
        }),
      ).rejects.toThrow('rollback')
      await da.transaction(send([dispatched('committed')]))
      await vi.waitFor(() => expect(hb.events()).toEqual([dispatched('committed')]), soon)
      // Its own store does not hear it back.
      b.publish([dispatched('marker')])
      await vi.waitFor(() => expect(ha.events()).toEqual([dispatched('marker')]), soon)
    })

    it('tells an empty list as an empty list: something changed, look again', async () => {
      const { a, b } = pair()
      const hb = await listening(b)
      a.publish([])
      await vi.waitFor(() => expect(hb.calls).toEqual([[]]), soon)
    })

    it('hears a long list whole and in order, in several notifications', async () => {
      const { a, b } = pair()
      const hb = await listening(b)
      const events = Array.from({ length: 400 }, (_, i) => dispatched(`job-${i}-${'p'.repeat(40)}`))
      a.publish(events)
      await vi.waitFor(() => expect(hb.events()).toHaveLength(400), soon)
      expect(hb.events()).toEqual(events)
      expect(hb.calls.length).toBeGreaterThan(1)
    })

    it('hears commits told one after another in the order they were told', async () => {
      const { a, b } = pair()
      const hb = await listening(b)
      const events = Array.from({ length: 50 }, (_, i) => dispatched(`job-${i}`))
      for (const e of events) a.publish([e])
      await vi.waitFor(() => expect(hb.events()).toHaveLength(50), soon)
      expect(hb.events()).toEqual(events)
    })

    it('hears an oversize event reduced and an event too large even reduced as []', async () => {
      const { a, b } = pair()
      const hb = await listening(b)
      const succeeded: QueueEvent = { kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't', result: 'r'.repeat(50_000) }
      a.publish([succeeded])
      a.publish([dispatched('i'.repeat(9000))])
      await vi.waitFor(() => expect(hb.calls).toEqual([[{ kind: 'job:succeeded', at: 1, jobId: 'j1', type: 't' }], []]), soon)
    })

    it('ignores forged and malformed payloads on its channel', async () => {
      const { a, b, schema } = pair()
      const hb = await listening(b)
      const channel = channelOf(schema)
      for (const forged of ['nonsense', '{"from":"x","events":[{"kind":"job:dispatched","at":"soon","jobId":1}]}', JSON.stringify({ from: 'x', events: [{ kind: 'rm -rf', at: 1 }] })]) {
        await s.raw('SELECT pg_notify($1, $2)', [channel, forged])
      }
      a.publish([dispatched('after')])
      await vi.waitFor(() => expect(hb.calls).toEqual([[dispatched('after')]]), soon)
    })

    it('does not hear the store of another schema', async () => {
      const { b } = pair()
      const other = pair()
      const hb = await listening(b)
      const ho = await listening(other.b)
      other.a.publish([dispatched('elsewhere')])
      // Once the other schema's listener heard it, ours would have too.
      await vi.waitFor(() => expect(ho.events()).toEqual([dispatched('elsewhere')]), soon)
      expect(hb.calls).toEqual([])
    })

    it('runs no timer while listening, and releases its session after the last subscriber', async () => {
      const { a, b, clock, schema } = pair()
      const one = await listening(b)
      const two = recorder()
      const stopTwo = b.subscribe(two.listener)
      expect(clock.pending).toBe(0)
      one.stop()
      a.publish([dispatched('marker')])
      await vi.waitFor(() => expect(two.events()).toEqual([dispatched('marker')]), soon)
      expect(one.calls).toEqual([])
      expect(await s.listeners(channelOf(schema))).toBe(1)
      stopTwo()
      expect(clock.pending).toBe(0)
      await vi.waitFor(async () => expect(await s.listeners(channelOf(schema))).toBe(0), soon)
    })

    it('never throws from publish, and sends nothing once closed', async () => {
      const { a, b, schema } = pair()
      const hb = await listening(b)
      const failing: Driver = { ...s.drivers()[0], query: () => Promise.reject(new Error('connection refused')) }
      const broken = notifications({ driver: failing, schema })
      expect(() => broken.publish([dispatched('lost')])).not.toThrow()
      await broken.close()
      await a.close()
      expect(() => a.publish([dispatched('after close')])).not.toThrow()
      const c = notifications({ driver: s.drivers()[0], schema })
      closing.push(() => c.close())
      c.publish([dispatched('marker')])
      await vi.waitFor(() => expect(hb.events()).toEqual([dispatched('marker')]), soon)
    })
  })
}

scenarios('PGlite', () => {
  const db = new PGlite()
  beforeAll(() => db.waitReady, 120_000)
  afterAll(() => db.close())
  return {
    drivers: () => [pgliteDriver(db), pgliteDriver(db)],
    raw: async (sql, params) => (await db.query(sql, params)).rows,
    listeners: async (channel) =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_listening_channels() AS c WHERE c = $1', [channel])).rows[0]!.n,
  }
})

scenarios('PostgreSQL', () => {
  let pools: [pg.Pool, pg.Pool] | undefined
  const open = (): [pg.Pool, pg.Pool] => (pools ??= [new pg.Pool({ connectionString: postgresUrl() }), new pg.Pool({ connectionString: postgresUrl() })])
  afterAll(async () => {
    await Promise.all((pools ?? []).map((p) => p.end()))
  })
  return {
    drivers: () => {
      const [p1, p2] = open()
      return [pgDriver(p1), pgDriver(p2)]
    },
    raw: async (sql, params) => (await open()[0].query(sql, params)).rows,
    // A connection's last statement is its LISTEN while it listens and waits.
    listeners: async (channel) =>
      (
        await open()[0].query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1 AND state = 'idle'", [
          `LISTEN "${channel}"`,
        ])
      ).rows[0]!.n,
  }
})
