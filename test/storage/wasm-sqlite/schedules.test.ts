import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createQueue, job } from '../../../src/index.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { ManualClock } from '../../../src/testing/manual-clock.js'
import { advance } from '../../helpers.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs('ferry-schedules-')
const MIN = 60_000

describe('schedules on the SQLite file store', () => {
  it('survive a restart: the reopened store keeps them and their next run', async () => {
    const path = join(dir(), 'jobs.db')
    const clock = new ManualClock(1_000_000)
    const first = createQueue({ store: sqliteStore({ path }), clock })
    const runs: number[] = []
    first.register('sync', () => void runs.push(clock.now()))
    await first.start()
    await first.schedule('sync', { every: MIN }, job('sync', {}))
    await first.schedule('nightly', '0 3 * * *', job('cleanup', {}), { timezone: 'UTC' })
    await advance(clock, MIN, 10_000)
    await first.close()
    expect(runs).toEqual([1_000_000 + MIN])

    // The app quits for 30 seconds, then starts again on the same file.
    clock.advance(30_000)
    const second = createQueue({ store: sqliteStore({ path }), clock })
    second.register('sync', () => void runs.push(clock.now()))
    const listed = await second.listSchedules()
    expect(listed.map((s) => [s.name, s.nextRunAt])).toEqual([
      ['nightly', Date.UTC(1970, 0, 1, 3)],
      ['sync', 1_000_000 + 2 * MIN],
    ])
    // Calling schedule again at start-up does not postpone the next run.
    await second.schedule('sync', { every: MIN }, job('sync', {}))
    await second.start()
    await advance(clock, 30_000, 10_000)
    expect(runs).toEqual([1_000_000 + MIN, 1_000_000 + 2 * MIN])
    await second.close()
  })
})
