import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createQueue, job, type Queue } from '../../../src/index.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { NEVER } from '../../../src/core/damaged.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs('ferry-damaged-')

/** Resolves once `ok()` holds; fails after 10 s. */
async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** A Node file store; `damage` runs SQL on it through a store of its own, the queue closed. */
function target() {
  const path = join(dir(), 'jobs.db')
  const ran: string[] = []
  const open = (): { store: SqliteStore; queue: Queue } => {
    const store = sqliteStore({ path })
    const queue = createQueue({ store })
    for (const t of ['a', 'b', 'c', 's', 'ok']) queue.register(t, async () => void ran.push(t))
    return { store, queue }
  }
  const damage = async (...sql: string[]): Promise<void> => {
    const s = sqliteStore({ path })
    try {
      await s.transaction((tx) => {
        for (const q of sql) tx.query(q)
      })
    } finally {
      await s.close()
    }
  }
  const rows = async (sql: string): Promise<Record<string, unknown>[]> => {
    const s = sqliteStore({ path })
    try {
      return await s.transaction((tx) => tx.query(sql))
    } finally {
      await s.close()
    }
  }
  return { ran, open, damage, rows }
}

describe('a damaged schedule row on the Node file store', { timeout: 20_000 }, () => {
  for (const [what, sql] of [
    ['data that does not parse', "UPDATE ferry_schedules SET data = '{bad' WHERE name = 'broken'"],
    ['a job that is not an object', "UPDATE ferry_schedules SET data = json_set(data, '$.job', 'x') WHERE name = 'broken'"],
    ['data without its fields', "UPDATE ferry_schedules SET data = '{}' WHERE name = 'broken'"],
  ] as const) {
    it(`with ${what} is skipped and listed as unreadable; the engine runs everything else`, async () => {
      const t = target()
      let { queue } = t.open()
      await queue.schedule('broken', { every: 200 }, job('s', { x: 1 }))
      await queue.schedule('fine', { every: 200 }, job('c', {}))
      await queue.close()
      await t.damage(sql)
      const before = (await t.rows("SELECT data FROM ferry_schedules WHERE name = 'broken'"))[0]!['data']
      const opened = t.open()
      queue = opened.queue
      try {
        await queue.start()
        await queue.dispatch(job('ok', {}))
        await until(() => t.ran.includes('ok') && t.ran.filter((r) => r === 'c').length >= 2, 'the other jobs to run')
        expect(t.ran).not.toContain('s')
        const listed = await opened.store.listSchedules()
        const broken = listed.find((s) => s.name === 'broken') as { unreadable?: { name: string; code: string; message: string } }
        expect(broken.unreadable).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD' })
        expect(broken.unreadable!.message).toContain('broken')
        const shown = await queue.listSchedules()
        expect(shown.map((s) => s.name)).toEqual(['broken', 'fine'])
        expect(shown[0]?.unreadable).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD' })
        expect(shown[1]?.unreadable).toBeUndefined()
        expect((await queue.counts()).failed).toBe(0)
      } finally {
        await queue.close()
      }
      // Only its next run moved out of reach: what was stored is as it was.
      const [row] = await t.rows("SELECT next_run_at, data FROM ferry_schedules WHERE name = 'broken'")
      expect(row).toEqual({ next_run_at: NEVER, data: before })
    })
  }

  it('is removed by unschedule and replaced by schedule', async () => {
    const t = target()
    let { queue } = t.open()
    await queue.schedule('gone', { every: 200 }, job('s', {}))
    await queue.schedule('again', { every: 200 }, job('s', {}))
    await queue.close()
    await t.damage("UPDATE ferry_schedules SET data = '{bad'")
    queue = t.open().queue
    try {
      await queue.unschedule('gone')
      await queue.schedule('again', { every: 100 }, job('s', { y: 2 }))
      const listed = await queue.listSchedules()
      expect(listed).toHaveLength(1)
      expect(listed[0]).toMatchObject({ name: 'again', when: { every: 100 }, type: 's', payload: { y: 2 } })
      await queue.start()
      await until(() => t.ran.includes('s'), 'the replaced schedule to run')
    } finally {
      await queue.close()
    }
  })
})

describe('a damaged chain or batch row on the Node file store', { timeout: 20_000 }, () => {
  for (const [what, data] of [
    ['data that does not parse', '{bad'],
    ['data without its fields', '{}'],
  ] as const) {
    it(`with ${what}: its jobs still settle, the engine goes on, finding it is a CORRUPT_RECORD error`, async () => {
      const t = target()
      let { queue } = t.open()
      const chainId = await queue.chain(job('a', {}).delay(300), job('b', {})).dispatch()
      const batchId = await queue.batch(job('c', {}).delay(300), job('c', {}).delay(300)).dispatch()
      await queue.close()
      await t.damage(`UPDATE ferry_chains SET data = '${data}'`, `UPDATE ferry_batches SET data = '${data}'`)
      queue = t.open().queue
      try {
        await queue.start()
        await until(() => t.ran.filter((r) => r === 'a' || r === 'c').length === 3, 'the steps and members to run')
        await queue.dispatch(job('ok', {}))
        await until(() => t.ran.includes('ok'), 'a job dispatched after them to run')
        await until(async () => (await queue.counts()).succeeded === 4, 'the steps and members to settle')
        const jobs = await queue.listJobs({ limit: 100 })
        expect(jobs.map((j) => [j.type, j.state]).sort()).toEqual([['a', 'succeeded'], ['b', 'blocked'], ['c', 'succeeded'], ['c', 'succeeded'], ['ok', 'succeeded']])
        expect(t.ran).not.toContain('b')
        for (const [find, id] of [[() => queue.findChain(chainId), chainId], [() => queue.findBatch(batchId), batchId]] as const) {
          const err = await find().then(() => undefined, (e: unknown) => e as { name: string; code: string; message: string })
          expect(err).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD' })
          expect(err!.message).toContain(id)
        }
      } finally {
        await queue.close()
      }
      expect(await t.rows('SELECT data FROM ferry_chains UNION ALL SELECT data FROM ferry_batches')).toEqual([{ data }, { data }])
    })
  }

  it('is deleted by prune once finished', async () => {
    const t = target()
    let opened = t.open()
    const chainId = await opened.queue.chain(job('a', {})).dispatch()
    await opened.queue.start()
    await until(async () => (await opened.queue.counts()).succeeded === 1, 'the chain to finish')
    await opened.queue.close()
    await t.damage("UPDATE ferry_chains SET data = '{bad'")
    opened = t.open()
    try {
      await opened.store.prune({ before: Date.now() + 60_000 })
      await expect(opened.queue.findChain(chainId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    } finally {
      await opened.queue.close()
    }
    expect(await t.rows('SELECT id FROM ferry_chains')).toEqual([])
  })
})

describe('a SQLite job row with a state no engine knows', { timeout: 20_000 }, () => {
  it('is left out of counts', async () => {
    const t = target()
    let { queue } = t.open()
    const { id } = await queue.dispatch(job('a', {}).delay(60_000))
    await queue.dispatch(job('b', {}).delay(60_000))
    await queue.close()
    await t.damage(`UPDATE ferry_jobs SET state = 'bogus' WHERE id = '${id}'`)
    queue = t.open().queue
    try {
      const counts = await queue.counts()
      expect(Object.keys(counts)).not.toContain('bogus')
      expect(counts.delayed).toBe(1)
    } finally {
      await queue.close()
    }
  })
})
