import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { SQL } from '../../../src/storage/wasm-sqlite/statements.js'
import { runFixture } from './child.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs('ferry-liveness-')

describe('a file store whose process was killed mid-job', () => {
  it('has the job taken over by the next process at once, not after its 30 s lease', async () => {
    const path = join(dir(), 'jobs.db')
    const first = runFixture('liveness-child.ts', [path, 'dispatch'])
    expect(await first.line('started ')).toBe('started the-job')
    first.child.kill('SIGKILL')
    await first.exited
    const killedAt = performance.now()
    const second = runFixture('liveness-child.ts', [path])
    try {
      const ran = await second.line('ran ')
      const [, id, attempt, ms, openMs] = ran.split(' ')
      const sinceKill = performance.now() - killedAt
      console.log(
        `kill -9 mid-job: the next process ran the job ${ms} ms after its start() ` +
          `(opening the file before took ${openMs} ms; ${sinceKill.toFixed(0)} ms after the kill, process start-up included)`,
      )
      expect([id, attempt]).toEqual(['the-job', '2'])
      expect(second.lines).toContain('stalled the-job')
      expect(Number(ms)).toBeLessThan(5000)
      expect(await second.line('succeeded ')).toBe('succeeded the-job')
    } finally {
      second.child.kill('SIGKILL')
      await second.exited
    }
    const store = sqliteStore({ path })
    expect(await store.getJob('the-job')).toMatchObject({ state: 'succeeded', attempt: 2, result: 'done' })
    await store.close()
  }, 60_000)
})

describe('the query for dead engines\' leases', () => {
  it('reads the active jobs only, through their index', async () => {
    const store = sqliteStore()
    const bind = [1, '["q"]', '["t"]', 10, '["a"]', 1]
    const rows = await store.transaction((tx) => tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${SQL.expiredOrDead}`, bind))
    const plan = rows.map((r) => r.detail).join('\n')
    expect(plan).toMatch(/USING INDEX ferry_jobs_active/)
    expect(plan).not.toMatch(/TEMP B-TREE/)
    await store.close()
  })
})
