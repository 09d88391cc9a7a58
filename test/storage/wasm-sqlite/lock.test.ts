import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError, StoreLockedError } from '../../../src/core/errors.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { setLockProbe } from '../../../src/storage/wasm-sqlite/lock-file.js'
import { newJob } from '../../../src/testing/contract/harness.js'
import { runFixture, runThread } from './child.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
const RACES = Number(process.env['FERRY_LOCK_RACES'] ?? 50)
const hasProc = existsSync('/proc/self/stat')

afterEach(() => setLockProbe(undefined))

const lockOf = (path: string): { pid: number; token: string } => JSON.parse(readFileSync(`${path}.lock`, 'utf8')) as { pid: number; token: string }
/** Makes the lock file look untouched for an hour. */
const age = (path: string): void => {
  const then = new Date(Date.now() - 3_600_000)
  utimesSync(`${path}.lock`, then, then)
}
const openError = (path: string): Promise<unknown> => {
  const store = sqliteStore({ path })
  return store.open().then(
    async () => {
      await store.close()
      return undefined
    },
    async (e: unknown) => {
      await store.close()
      return e
    },
  )
}

describe('the lock file between processes', () => {
  it('refuses a second process with StoreLockedError naming the owner, and takes the file over once the owner is killed', async () => {
    const path = join(dir(), 'jobs.db')
    const holder = runFixture('lock-holder.ts', [path])
    await holder.line('open')
    const pid = holder.child.pid
    const store = sqliteStore({ path })
    const err = await store.open().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(err).toMatchObject({ code: 'STORE_LOCKED', pid })
    expect((err as Error).message).toContain(`process ${pid} has it open`)

    holder.child.kill('SIGKILL')
    await holder.exited
    expect(existsSync(`${path}.lock`)).toBe(true) // left behind by the killed process
    expect((await store.getJob('from-holder'))?.state).toBe('waiting')
    expect(await store.transaction((tx) => tx.query('PRAGMA integrity_check'))).toEqual([{ integrity_check: 'ok' }])
    await store.close()
  }, 30_000)

  it(`gives the file to exactly one of two processes that open it at the same instant (${RACES} races)`, async () => {
    const d = dir()
    const racers = [runFixture('lock-racer.ts', [], { stdin: true }), runFixture('lock-racer.ts', [], { stdin: true })]
    try {
      await Promise.all(racers.map((r) => r.line('ready')))
      const wrong: { round: number; answers: string[] }[] = []
      for (let round = 0; round < RACES; round++) {
        const path = join(d, `race-${round}.db`)
        const at = Date.now() + 40
        for (const r of racers) r.send(`${at} ${path}`)
        const answers = (await Promise.all(racers.map((r) => r.line(`${path} `)))).map((a) => a.slice(path.length + 1))
        if (answers.sort().join() !== 'locked,owner') wrong.push({ round, answers })
        for (const r of racers) r.send(`release ${path}`)
        await Promise.all(racers.map((r) => r.line(`released ${path}`)))
      }
      expect(wrong).toEqual([])
    } finally {
      for (const r of racers) r.child.kill('SIGKILL')
    }
  }, 120_000)
})

describe('the lock file between threads of one process', () => {
  it('refuses a worker_thread while the main thread has the file open, and lets it in once the main thread closes', async () => {
    const path = join(dir(), 'jobs.db')
    const main = sqliteStore({ path })
    await main.open()
    const refused = runThread('lock-opener.ts', { path })
    expect(await refused.next()).toEqual({ name: 'StoreLockedError', code: 'STORE_LOCKED', pid: process.pid })
    refused.post('close')
    await refused.exited
    await main.close()

    const worker = runThread('lock-opener.ts', { path })
    expect(await worker.next()).toEqual({ opened: true })
    worker.post('close')
    expect(await worker.next()).toBe('closed')
    await worker.exited
  }, 60_000)

  it('refuses a second worker_thread, and the main thread, while one worker_thread has the file open', async () => {
    const path = join(dir(), 'jobs.db')
    const first = runThread('lock-opener.ts', { path })
    expect(await first.next()).toEqual({ opened: true })
    const second = runThread('lock-opener.ts', { path })
    expect(await second.next()).toEqual({ name: 'StoreLockedError', code: 'STORE_LOCKED', pid: process.pid })
    second.post('close')
    const err = await openError(path)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(err).toMatchObject({ pid: process.pid })
    expect((err as Error).message).toContain('another thread of this process')
    first.post('close')
    expect(await first.next()).toBe('closed')
    await Promise.all([first.exited, second.exited])
    expect(await openError(path)).toBeUndefined()
  }, 60_000)
})

describe('a lock whose owner cannot be verified by its start time (no /proc: macOS, Windows)', () => {
  /** A process that stays alive until the end of the test. */
  const liveProcess = (): { pid: number; stop: () => void } => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    return { pid: child.pid ?? 0, stop: () => child.kill('SIGKILL') }
  }

  it('refuses a lock of a live process whose heartbeat is recent', async () => {
    setLockProbe({ startTime: () => undefined })
    const path = join(dir(), 'jobs.db')
    const other = liveProcess()
    try {
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: other.pid, token: 'other' }))
      expect(await openError(path)).toMatchObject({ code: 'STORE_LOCKED', pid: other.pid })
    } finally {
      other.stop()
    }
  })

  it('takes over a lock of a live pid whose heartbeat stopped (the pid was reused after a crash or a reboot)', async () => {
    setLockProbe({ startTime: () => undefined })
    const path = join(dir(), 'jobs.db')
    const other = liveProcess()
    try {
      writeFileSync(`${path}.lock`, JSON.stringify({ pid: other.pid, token: 'before-the-reboot' }))
      age(path)
      const store = sqliteStore({ path })
      await store.open()
      expect(lockOf(path)).toMatchObject({ pid: process.pid })
      await store.close()
    } finally {
      other.stop()
    }
  })

  it('refuses a lock naming this pid with a recent heartbeat (another thread), and takes one whose heartbeat stopped (an earlier process with this pid)', async () => {
    setLockProbe({ startTime: () => undefined })
    const path = join(dir(), 'jobs.db')
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, token: 'someone' }))
    expect(await openError(path)).toMatchObject({ code: 'STORE_LOCKED', pid: process.pid })
    age(path)
    const store = sqliteStore({ path })
    await store.open()
    expect(lockOf(path).token).not.toBe('someone')
    await store.close()
  })

  it('keeps the heartbeat of a lock it holds going', async () => {
    setLockProbe({ startTime: () => undefined, heartbeatMs: 50 })
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.open()
    age(path)
    await expect.poll(() => Date.now() - statSync(`${path}.lock`).mtimeMs, { timeout: 10_000 }).toBeLessThan(60_000)
    await store.close()
  })

  it('fails the writes of a store whose lock was taken over while it could not beat, instead of writing over the new owner', async () => {
    let now = Date.now()
    setLockProbe({ startTime: () => undefined, now: () => now, heartbeatMs: 60_000 })
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.insert({ now: 1000, jobs: [newJob()] })
    // Its event loop was blocked for an hour; meanwhile another process took the file over.
    now += 3_600_000
    rmSync(`${path}.lock`)
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, token: 'new-owner' }))
    const err = await store.insert({ now: 1000, jobs: [newJob()] }).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(lockOf(path).token).toBe('new-owner')
    await store.close()
    expect(lockOf(path).token).toBe('new-owner') // close leaves the new owner's lock alone
  })
})

describe.runIf(hasProc)('a lock naming this pid, where /proc tells start times (Linux)', () => {
  it('takes over a lock naming this pid from an earlier process (another start time)', async () => {
    const path = join(dir(), 'jobs.db')
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, token: 'from-an-earlier-life', started: '1' }))
    const store = sqliteStore({ path })
    await store.open()
    expect(lockOf(path).token).not.toBe('from-an-earlier-life')
    await store.close()
  })

  it('refuses a lock naming this pid and its start time but a token this thread did not take (another thread) while its heartbeat is recent, and takes it once the heartbeat stopped (the thread is gone)', async () => {
    const path = join(dir(), 'jobs.db')
    const started = readFileSync('/proc/self/stat', 'utf8')
    const mine = started.slice(started.lastIndexOf(')') + 2).split(' ')[19]
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, token: 'a-worker', started: mine }))
    expect(await openError(path)).toMatchObject({ code: 'STORE_LOCKED', pid: process.pid })
    age(path)
    expect(await openError(path)).toBeUndefined()
  })
})
