/**
 * Queues on the IndexedDB store in Chromium: `order: 'runAt'` runs the job ready longest first,
 * each record shows the version that dispatched it and the one that ran it, the handler gets
 * the job's metadata; and the waiting jobs of a database an older ferry wrote (schema 4) run
 * earliest first after the upgrade.
 */
import { deleteDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, type Queue } from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import type { IdbDump } from '../fixtures/formats/idb-dump.js'
import v4 from '../fixtures/formats/idb-v4.json' with { type: 'json' }
import { loadIdb } from '../fixtures/formats/load-idb.js'

const run = Date.now().toString(36)
let n = 0
const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

const newName = (): string => {
  const name = `ferry-queue-order-${run}-${++n}`
  cleanup.push(() => deleteDB(name))
  return name
}

function open(name: string, o: { version?: string; order?: 'priority' | 'runAt' } = {}): Queue {
  const queue = createQueue({ store: idbStore({ name }), ...o })
  cleanup.push(() => queue.close())
  return queue
}

async function until(ok: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 20_000
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('queues on IndexedDB with a claim order and a version (Chromium)', { timeout: 60_000 }, () => {
  it('runs the job ready longest first, and keeps who dispatched and who ran each job', async () => {
    const name = newName()
    const dispatcher = open(name, { version: '1.0.0' })
    // Each later than the one before, and of higher priority: the priority order is the reverse.
    const ids: string[] = []
    for (const p of [0, 5, 10]) {
      ids.push((await dispatcher.dispatch(job('t', { p }).priority(p).meta({ userId: `u${p}`, plan: 'pro' }))).id)
      await pause(5)
    }
    // Of the highest priority, but ready only after the others.
    ids.push((await dispatcher.dispatch(job('t', { p: 20 }).priority(20).delay(60))).id)
    await dispatcher.close()
    await pause(100)

    const ran: { p: number; meta: unknown }[] = []
    const worker = open(name, { version: '2.0.0', order: 'runAt' })
    worker.register('t', async (payload, ctx) => void ran.push({ p: (payload as { p: number }).p, meta: ctx.meta }))
    await worker.start()
    await until(() => ran.length === 4, 'the four jobs to run')
    expect(ran.map((r) => r.p)).toEqual([0, 5, 10, 20])
    expect(ran[0]?.meta).toEqual({ userId: 'u0', plan: 'pro' })
    await until(async () => (await worker.counts()).succeeded === 4, 'the four jobs to settle')
    for (const id of ids) expect(await worker.getJob(id)).toMatchObject({ dispatchedBy: '1.0.0', processedBy: '2.0.0' })
    expect(await worker.getJob(ids[1] as string)).toMatchObject({ meta: { userId: 'u5', plan: 'pro' } })
    expect((await worker.listJobs({ version: '1.0.0' })).map((j) => j.id)).toEqual(ids)
    expect((await worker.listJobs({ version: '2.0.0', limit: 2, offset: 1 })).map((j) => j.id)).toEqual(ids.slice(1, 3))
    expect(await worker.listJobs({ version: '3.0.0' })).toEqual([])
  })

  it('runs the waiting jobs of a schema 4 database earliest first after the upgrade', async () => {
    const name = newName()
    await loadIdb(v4 as unknown as IdbDump, name)
    const ran: string[] = []
    const queue = open(name, { version: '5.0.0', order: 'runAt' })
    queue.register('later', async (_payload, ctx) => void ran.push(ctx.id))
    await queue.start()
    // The fixture's jobs of type 'later', waiting or due, by their ready time, then priority.
    const expected = ['chain-running-1', 'batch-running-1', 'batch-running-2', 'waiting-high', 'waiting-default', 'unique-1', 'waiting-low', 'delayed-due']
    await until(() => ran.length >= expected.length, 'the old waiting jobs to run')
    expect(ran).toEqual(expected)
    await until(async () => (await queue.getJob('delayed-due'))?.state === 'succeeded', 'the last to settle')
    expect(await queue.getJob('waiting-high')).toMatchObject({ state: 'succeeded', processedBy: '5.0.0' })
    expect(await queue.getJob('waiting-high')).not.toHaveProperty('dispatchedBy')
    expect((await queue.listJobs({ version: '5.0.0', limit: 20 })).map((j) => j.id).sort()).toEqual([...expected].sort())
  })
})
