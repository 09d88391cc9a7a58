import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQueue, type QueueEvent, type StoredJob } from '../../../src/index.js'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { runFixture } from './child.js'
import { CRASH_QUEUE, registerCrashHandlers, type CrashJobs } from './fixtures/handlers.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
/** Files worked on side by side, each through ROUNDS processes killed one after the other. */
const LANES = 3
const ROUNDS = Number(process.env['FERRY_CRASH_ROUNDS'] ?? 3)
/** Where each round's process dies, in turn: inside a commit, in a sync, in a checkpoint, at a signal from outside. */
const KINDS = ['write', 'sync', 'checkpoint', 'signal'] as const
type Kind = (typeof KINDS)[number]
const between = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo))
/** The kill switch of each kind, at a point some work in (writes to the WAL, syncs, database writes). */
const SWITCH: Record<Exclude<Kind, 'signal'>, () => string> = {
  write: () => `write:${between(100, 400)}`,
  sync: () => `sync:${between(8, 40)}`,
  checkpoint: () => `checkpoint:${between(4, 50)}`,
}
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

// The killed processes run the fixture bundled into one JavaScript file: half the start-up
// work of compiling TypeScript in each of them. Beside node_modules, so its imports resolve.
const root = fileURLToPath(new URL('../../../', import.meta.url))
const bundleDir = join(root, 'node_modules', '.cache', `ferry-crash-${process.pid}`)
const bundle = join(bundleDir, 'crash-child.mjs')
beforeAll(async () => {
  await build({
    configFile: false,
    logLevel: 'silent',
    root,
    build: {
      ssr: fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url)),
      outDir: bundleDir,
      emptyOutDir: true,
      minify: false,
      target: 'node20',
      rollupOptions: { output: { entryFileNames: 'crash-child.mjs', inlineDynamicImports: true } },
    },
  })
}, 60_000)
afterAll(() => rmSync(bundleDir, { recursive: true, force: true }))

/**
 * Frames after the WAL's last commit frame, of its current generation (their salts are the
 * header's): what a transaction killed in the middle of its commit leaves.
 */
function uncommittedFrames(wal: Buffer): number {
  if (wal.length < 32) return 0
  const raw = wal.readUInt32BE(8)
  const pageSize = raw === 1 ? 65536 : raw
  const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)]
  let frames = 0
  let committed = 0
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salts[0] || wal.readUInt32BE(at + 12) !== salts[1]) break
    frames++
    if (wal.readUInt32BE(at + 4) !== 0) committed = frames
  }
  return frames - committed
}

interface Round {
  /** Where the process died: the kill switch that fired, or `signal`. */
  landed: string
  acks: [string, string][]
  /** Uncommitted frames the process left in the WAL. */
  torn: number
}

/** Runs one process on the file until it dies where `kind` says, and checks what it left. */
async function crashRound(path: string, round: number, kind: Kind): Promise<Round> {
  const env: Record<string, string> = kind === 'signal' ? {} : { FERRY_TEST_VFS_KILL: SWITCH[kind]() }
  const child = runFixture('crash-child.ts', [path, String(round), kind === 'sync' ? 'full' : 'normal'], { env, script: bundle })
  let dead = false
  void child.exited.then(() => (dead = true))
  await child.line('started').catch(() => undefined) // a switch may fire while it opens
  // A signal from outside lands at a random moment once some work is under way, however slow
  // the machine is; so does one for a switch that has not fired after a long while.
  const target = kind === 'signal' ? 3 + Math.floor(Math.random() * 30) : 3_000
  const deadline = Date.now() + 20_000
  while (!dead && child.lines.length <= target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2))
  if (!dead) {
    await new Promise((r) => setTimeout(r, Math.random() * 20))
    child.child.kill('SIGKILL')
  }
  await child.exited
  const landed = child.lines.find((l) => l.startsWith('vfs-kill '))?.split(' ')[1] ?? 'signal'
  const torn = existsSync(`${path}-wal`) ? uncommittedFrames(readFileSync(`${path}-wal`)) : 0
  const acks = child.lines.filter((l) => /^(job|chain|batch) /.test(l)).map((l) => l.split(' ') as [string, string])

  const store = sqliteStore({ path })
  try {
    expect(await store.transaction((tx) => tx.query('PRAGMA integrity_check')), `round ${round}, killed at ${landed}`).toEqual([{ integrity_check: 'ok' }])
    for (const [what, id] of acks) {
      const found = what === 'job' ? await store.getJob(id) : what === 'chain' ? await store.getChain(id) : await store.getBatch(id)
      expect(found, `${what} ${id} was acknowledged in round ${round}, killed at ${landed}`).toBeDefined()
    }
    // Every dispatch has payloads of its own: one stored twice would show here.
    const doubled = await store.transaction((tx) =>
      tx.query(`SELECT type, json_extract(payload, '$.i') AS i, count(*) AS n FROM ferry_jobs WHERE type != 'cb' GROUP BY 1, 2 HAVING n > 1`),
    )
    expect(doubled, `round ${round}`).toEqual([])
    await checkInvariants(store, await allJobs(store))
  } finally {
    await store.close()
  }
  return { landed, acks, torn }
}

describe('kill -9 of a process working a file store', () => {
  it(`loses no acknowledged dispatch and leaves nothing half-written, killed inside commits, syncs and checkpoints (${LANES * ROUNDS} kills)`, async () => {
    const rounds: Round[] = []
    let takenOver = 0
    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        const path = join(dir(), 'crash.db')
        // Created beforehand, so that in the killed processes the database file is written only by checkpoints.
        await sqliteStore({ path }).close()
        for (let r = 0; r < ROUNDS; r++) {
          const kind = KINDS[(lane + r) % KINDS.length] ?? 'signal'
          const round = await crashRound(path, lane * 100 + r, kind)
          if (round.landed === 'write') expect(round.torn, 'a kill inside a commit leaves uncommitted frames').toBeGreaterThan(0)
          rounds.push(round)
        }
        const store = sqliteStore({ path })
        // Jobs it had claimed ahead but not started go back without a stall: they never ran.
        const wasActive = (await allJobs(store)).filter((j) => j.state === 'active' && !j.ahead).map((j) => j.id)

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
          }, { timeout: 30_000, interval: 20 })
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
      }),
    )
    const landed = (kind: string): number => rounds.filter((r) => r.landed === kind).length
    const acknowledged = rounds.reduce((n, r) => n + r.acks.length, 0)
    console.info(
      `crash test: ${rounds.length} kills: ${landed('write')} inside a commit (${rounds.reduce((n, r) => n + r.torn, 0)} uncommitted frames left), ` +
        `${landed('sync')} inside xSync, ${landed('checkpoint')} inside a checkpoint, ${landed('signal')} by a signal from outside; ` +
        `${acknowledged} acknowledged dispatches, ${takenOver} running jobs taken over`,
    )
    expect({ write: landed('write') > 0, sync: landed('sync') > 0, checkpoint: landed('checkpoint') > 0 }).toEqual({ write: true, sync: true, checkpoint: true })
    // The kills did land mid-work: dispatches of every kind acknowledged, jobs running.
    expect(acknowledged).toBeGreaterThanOrEqual(rounds.length)
    expect([...new Set(rounds.flatMap((r) => r.acks.map(([what]) => what)))].sort()).toEqual(['batch', 'chain', 'job'])
    expect(takenOver).toBeGreaterThan(0)
  }, 180_000)
})
