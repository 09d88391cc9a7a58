import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createQueue, type QueueEvent, type StoredJob } from '../../../src/index.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { runFixture } from './child.js'
import { CRASH_QUEUE, registerCrashHandlers, type CrashJobs } from './fixtures/handlers.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
const ROUNDS = Number(process.env['FERRY_CRASH_ROUNDS'] ?? 20)
const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])

async function allJobs(store: SqliteStore): Promise<StoredJob[]> {
  return store.listJobs({ limit: Number.MAX_SAFE_INTEGER }, Date.now())
}

/** Every job, chain and batch is in a state the rules can produce. */
async function checkInvariants(store: SqliteStore, jobs: StoredJob[]): Promise<void> {
  const byId = new Map(jobs.map((j) => [j.id, j]))
  for (const j of jobs) {
    expect(['blocked', 'waiting', 'delayed', 'active', 'succeeded', 'failed', 'cancelled']).toContain(j.state)
    expect([j.id, j.state === 'active'], 'an active job has a lease, no other has').toEqual([j.id, j.lease !== undefined])
    expect([j.id, FINISHED.has(j.state)], 'finished jobs have finishedAt').toEqual([j.id, j.finishedAt !== undefined])
    expect(j.attempt).toBeLessThanOrEqual(j.maxAttempts)
  }
  const chainIds = new Set(jobs.flatMap((j) => (j.chainId === undefined ? [] : [j.chainId])))
  for (const id of chainIds) {
    const chain = await store.getChain(id)
    if (!chain) throw new Error(`chain ${id} is missing`)
    const states = chain.steps.map((s) => s.state)
    if (chain.state === 'running') {
      expect(states.slice(0, chain.current).every((s) => s === 'succeeded'), `chain ${id}: ${states.join(',')}`).toBe(true)
      expect(['waiting', 'delayed', 'active']).toContain(states[chain.current])
      expect(states.slice(chain.current + 1).every((s) => s === 'blocked'), `chain ${id}: ${states.join(',')}`).toBe(true)
    } else {
      expect(states.some((s) => !FINISHED.has(s)), `finished chain ${id}: ${states.join(',')}`).toBe(false)
      expect(byId.has(`${id}:settled`), `chain ${id} has its settled callback`).toBe(true)
    }
  }
  const batchIds = new Set(jobs.flatMap((j) => (j.batchId === undefined ? [] : [j.batchId])))
  for (const id of batchIds) {
    const b = await store.getBatch(id)
    if (!b) throw new Error(`batch ${id} is missing`)
    const members = b.jobIds.map((m) => byId.get(m)?.state)
    const n = (s: string): number => members.filter((m) => m === s).length
    expect({ succeeded: b.succeeded, failed: b.failed, cancelled: b.cancelled, pending: b.pending }).toEqual({
      succeeded: n('succeeded'),
      failed: n('failed'),
      cancelled: n('cancelled'),
      pending: members.filter((m) => m === undefined || !FINISHED.has(m)).length,
    })
    expect(b.state === 'running').toBe(b.pending > 0)
    if (b.pending === 0) expect(byId.has(`${id}:settled`), `batch ${id} has its settled callback`).toBe(true)
  }
}

describe('kill -9 of a process working a file store', () => {
  it(`loses no acknowledged dispatch and leaves nothing half-written, over ${ROUNDS} kills`, async () => {
    const path = join(dir(), 'crash.db')
    let acknowledged = 0
    let takenOver = 0
    const kinds = new Set<string>()
    for (let round = 0; round < ROUNDS; round++) {
      const child = runFixture('crash-child.ts', [path, String(round)])
      await child.line('started')
      // Kill at a random moment once some work is under way, however slow the machine is.
      const target = 3 + Math.floor(Math.random() * 30)
      const deadline = Date.now() + 15_000
      while (child.lines.length <= target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2))
      await new Promise((r) => setTimeout(r, Math.random() * 20))
      child.child.kill('SIGKILL')
      await child.exited
      const acks = child.lines.filter((l) => / /.test(l) && l !== 'started').map((l) => l.split(' ') as [string, string])
      acknowledged += acks.length
      for (const [kind] of acks) kinds.add(kind)

      const store = sqliteStore({ path })
      expect(await store.transaction((tx) => tx.query('PRAGMA integrity_check'))).toEqual([{ integrity_check: 'ok' }])
      for (const [kind, id] of acks) {
        const found = kind === 'job' ? await store.getJob(id) : kind === 'chain' ? await store.getChain(id) : await store.getBatch(id)
        expect(found, `${kind} ${id} was acknowledged in round ${round}`).toBeDefined()
      }
      const jobs = await allJobs(store)
      await checkInvariants(store, jobs)
      const wasActive = jobs.filter((j) => j.state === 'active').map((j) => j.id)

      // Another process (this one) finishes the work; jobs the dead one held are taken over once their lease ends.
      const queue = createQueue<CrashJobs>({ store, ...CRASH_QUEUE })
      const events: QueueEvent[] = []
      queue.events.subscribe((e) => events.push(e))
      registerCrashHandlers(queue)
      await queue.start()
      await expect
        .poll(async () => {
          const c = await queue.counts()
          return c.blocked + c.waiting + c.delayed + c.active
        }, { timeout: 20_000, interval: 20 })
        .toBe(0)
      await queue.close()

      const reopened = sqliteStore({ path })
      const after = await allJobs(reopened)
      await checkInvariants(reopened, after)
      expect(after.filter((j) => !FINISHED.has(j.state))).toEqual([])
      const stalled = new Set(events.flatMap((e) => (e.kind === 'job:stalled' ? [e.jobId] : [])))
      for (const id of wasActive) expect(stalled.has(id), `job ${id} was active when its process died`).toBe(true)
      takenOver += wasActive.length
      await reopened.close()
    }
    // The kills did land mid-work: dispatches of every kind acknowledged, jobs running.
    expect(acknowledged).toBeGreaterThanOrEqual(ROUNDS * 3)
    expect([...kinds].sort()).toEqual(['batch', 'chain', 'job'])
    expect(takenOver).toBeGreaterThan(0)
    console.info(`crash test: ${ROUNDS} kills, ${acknowledged} acknowledged dispatches, ${takenOver} running jobs taken over`)
  }, 300_000)
})
