import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createQueue, job, type Queue } from '../../../src/index.js'
import type { SettleAndClaimInput, SettleAndClaimOutcome } from '../../../src/core/store.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs('ferry-damaged-times-')

/** Resolves once `ok()` holds; fails after 10 s. */
async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A Node file store; `sql` runs statements on it through a store of its own, the queue closed. */
function target() {
  const path = join(dir(), 'jobs.db')
  const ran: string[] = []
  const wakes: (number | undefined)[] = []
  const open = (opts: { retention?: boolean } = {}): { store: SqliteStore; queue: Queue } => {
    const store = sqliteStore({ path })
    // Every wake-up time the store hands the engine is kept.
    const settleAndClaim = store.settleAndClaim.bind(store)
    store.settleAndClaim = async (input: SettleAndClaimInput): Promise<SettleAndClaimOutcome> => {
      const out = await settleAndClaim(input)
      wakes.push(out.nextWakeAt)
      return out
    }
    const queue = createQueue({ store, concurrency: 20, ...(opts.retention ? { retention: { succeeded: { count: 0 } } } : {}) })
    for (const t of ['a', 'b', 'c', 's']) queue.register(t, async () => void ran.push(t))
    return { store, queue }
  }
  const sql = async (...statements: string[]): Promise<Record<string, unknown>[]> => {
    const s = sqliteStore({ path })
    try {
      return await s.transaction((tx) => statements.flatMap((q) => tx.query<Record<string, unknown>>(q)))
    } finally {
      await s.close()
    }
  }
  return { ran, wakes, open, sql }
}

describe('a SQLite row whose time is not a number', { timeout: 30_000 }, () => {
  it('a delayed job whose run_at is text is claimed and failed CORRUPT_RECORD; no wake-up time is NaN', async () => {
    const t = target()
    let { queue } = t.open()
    const { id } = await queue.dispatch(job('a', {}).delay(300))
    await queue.close()
    await t.sql(`UPDATE ferry_jobs SET run_at = 'soon' WHERE id = '${id}'`)
    queue = t.open().queue
    try {
      await queue.start()
      await until(async () => (await queue.getJob(id))?.state === 'failed', 'the job to fail')
      expect((await queue.getJob(id))?.error).toMatchObject({ code: 'CORRUPT_RECORD' })
      expect(t.ran).not.toContain('a')
      await queue.dispatch(job('b', {}).delay(100))
      await until(() => t.ran.includes('b'), 'a later delayed job to run')
    } finally {
      await queue.close()
    }
    expect(t.wakes.length).toBeGreaterThan(0)
    expect(t.wakes.filter((w) => w !== undefined && !Number.isFinite(w))).toEqual([])
  })

  it('a schedule whose next_run_at is text is listed unreadable and never fires; no wake-up time is NaN', async () => {
    const t = target()
    let opened = t.open()
    await opened.queue.schedule('broken', { every: 60_000 }, job('s', {}))
    await opened.queue.close()
    await t.sql("UPDATE ferry_schedules SET next_run_at = 'later'")
    opened = t.open()
    try {
      await opened.queue.start()
      await opened.queue.dispatch(job('b', {}).delay(100))
      await until(() => t.ran.includes('b'), 'a delayed job to run')
      const [broken] = await opened.queue.listSchedules()
      expect(broken?.unreadable).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD' })
      expect(t.ran).not.toContain('s')
    } finally {
      await opened.queue.close()
    }
    expect(t.wakes.filter((w) => w !== undefined && !Number.isFinite(w))).toEqual([])
  })
})

describe('a damaged group whose jobs have all finished', { timeout: 60_000 }, () => {
  /** A batch of `n` and a chain of 3 that have run, then their records damaged. */
  async function finishedThenDamaged(t: ReturnType<typeof target>, n: number): Promise<{ batchId: string; chainId: string }> {
    const { queue } = t.open()
    const batchId = await queue.batch(...Array.from({ length: n }, (_, i) => job('c', { i }))).dispatch()
    const chainId = await queue.chain(job('a', {}), job('b', {}), job('a', {})).dispatch()
    await queue.start()
    await until(async () => (await queue.counts()).succeeded === n + 3, 'the groups to finish')
    await queue.close()
    // A batch left running whose data no longer parses, a chain with no data left.
    await t.sql(`UPDATE ferry_batches SET state = 'running', finished_at = NULL, data = '{bad'`, `UPDATE ferry_chains SET state = 'running', finished_at = NULL, data = '{}'`)
    return { batchId, chainId }
  }

  it('is deleted whole by retention, and the jobs that finish after it go too', async () => {
    const t = target()
    await finishedThenDamaged(t, 450)
    const { queue } = t.open({ retention: true })
    try {
      await queue.start()
      for (let i = 0; i < 50; i++) await queue.dispatch(job('c', { later: i }))
      await until(async () => (await queue.counts()).succeeded === 0 && t.ran.length === 450 + 3 + 50, 'every finished job to be deleted')
    } finally {
      await queue.close()
    }
    expect(await t.sql('SELECT id FROM ferry_batches UNION ALL SELECT id FROM ferry_chains')).toEqual([])
  })

  it('is deleted whole by prune', async () => {
    const t = target()
    await finishedThenDamaged(t, 20)
    const { store } = t.open()
    try {
      await store.prune({ before: Date.now() + 60_000 })
    } finally {
      await store.close()
    }
    expect(await t.sql('SELECT id FROM ferry_jobs UNION ALL SELECT id FROM ferry_batches UNION ALL SELECT id FROM ferry_chains')).toEqual([])
  })
})
