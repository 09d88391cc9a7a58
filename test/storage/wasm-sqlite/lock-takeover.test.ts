import { spawn } from 'node:child_process'
import { existsSync, lutimesSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError, StoreLockedError } from '../../../src/core/errors.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { acquireLock, setLockProbe, type LockFile } from '../../../src/storage/wasm-sqlite/lock-file.js'
import { newJob } from '../../../src/testing/contract/harness.js'
import { runFixture, runThread } from './child.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()
const ROUNDS = Number(process.env['FERRY_LOCK_RACES'] ?? 40)
const hasProc = existsSync('/proc/self/stat')

afterEach(() => setLockProbe(undefined))

const lockOf = (path: string): { pid: number; token: string } => JSON.parse(readFileSync(`${path}.lock`, 'utf8')) as { pid: number; token: string }
const hourAgo = (): Date => new Date(Date.now() - 3_600_000)
/** Makes the lock file look untouched for an hour. */
const age = (path: string): void => utimesSync(`${path}.lock`, hourAgo(), hourAgo())
/**
 * A lock left by a process that is gone: its parent's pid with another start time (an earlier
 * process that had that pid), and a heartbeat stopped an hour ago where start times are unknown.
 */
const staleLock = (path: string, token = 'gone'): void => {
  writeFileSync(`${path}.lock`, `${JSON.stringify({ pid: process.ppid, token, started: '1' })}\n`)
  age(path)
}
const openError = async (path: string): Promise<unknown> => {
  const store = sqliteStore({ path })
  const err = await store.open().then(() => undefined, (e: unknown) => e)
  await store.close()
  return err
}
const procState = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
  } catch {
    return undefined
  }
}
const procStarted = (pid: number): string | undefined => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

describe('taking over a stale lock while others open the file too', () => {
  it('never gives the file to two openers, whichever steps of a takeover two others come in at', () => {
    const d = dir()
    const wrong: { at: number[]; owners: number }[] = []
    for (let k1 = 1; k1 <= 8; k1++) {
      for (let k2 = k1; k2 <= 8; k2++) {
        const db = join(d, `${k1}-${k2}.db`)
        staleLock(db)
        // The probe's clock is read at each step of an opening; the openers that come in
        // between run inside those reads, synchronously, as another process could at that point.
        let depth = 0
        let steps = 0
        const owners: LockFile[] = []
        const attempt = (): void => {
          depth++
          try {
            owners.push(acquireLock(db))
          } catch (e) {
            if (!(e instanceof StoreLockedError)) throw e
          } finally {
            depth--
          }
        }
        setLockProbe({
          now: () => {
            if (depth === 1) {
              steps++
              if (steps === k1 || steps === k2) attempt()
            }
            return Date.now()
          },
        })
        attempt()
        setLockProbe(undefined)
        const named = owners.filter((o) => o.check())
        if (owners.length !== 1 || named.length !== 1 || lockOf(db).pid !== process.pid) wrong.push({ at: [k1, k2], owners: owners.length })
        for (const o of owners) o.release()
      }
    }
    expect(wrong).toEqual([])
  })

  it(`gives a file whose lock is stale to exactly one of five processes that open it at the same instant (${ROUNDS} races)`, async () => {
    const d = dir()
    const racers = Array.from({ length: 5 }, () => runFixture('lock-racer.ts', [], { stdin: true }))
    try {
      await Promise.all(racers.map((r) => r.line('ready')))
      const wrong: { round: number; answers: string[] }[] = []
      for (let round = 0; round < ROUNDS; round++) {
        const path = join(d, `race-${round}.db`)
        staleLock(path)
        const at = Date.now() + 40
        for (const r of racers) r.send(`${at} ${path}`)
        const answers = (await Promise.all(racers.map((r) => r.line(`${path} `)))).map((a) => a.slice(path.length + 1))
        if (answers.sort().join() !== 'locked,locked,locked,locked,owner') wrong.push({ round, answers })
        for (const r of racers) r.send(`release ${path}`)
        await Promise.all(racers.map((r) => r.line(`released ${path}`)))
      }
      expect(wrong).toEqual([])
    } finally {
      for (const r of racers) r.child.kill('SIGKILL')
    }
  }, 120_000)

  it('takes over a lock left by an opener that died while taking over the lock before it', async () => {
    const d = dir()
    const path = join(d, 'jobs.db')
    staleLock(path, 'first')
    // The dead opener's claim on the stale lock: it was killed before it replaced the lock.
    writeFileSync(`${path}.lock.takeover-first`, `${JSON.stringify({ pid: process.ppid, token: 'second', started: '1' })}\n`)
    utimesSync(`${path}.lock.takeover-first`, hourAgo(), hourAgo())
    const store = sqliteStore({ path })
    await store.open()
    expect(lockOf(path).pid).toBe(process.pid)
    await store.close()
  })
})

describe('an owner that lost its lock', () => {
  it('touches none of the files when it closes: the new owner keeps its WAL', async () => {
    let now = Date.now()
    setLockProbe({ startTime: () => undefined, now: () => now, heartbeatMs: 60_000 })
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    // Every commit is checkpointed at once: closing has nothing left to write, only the WAL to delete.
    await store.transaction((tx) => tx.exec('PRAGMA wal_autocheckpoint = 1'))
    await store.insert({ now: 1000, jobs: [newJob()] })
    expect(existsSync(`${path}-wal`)).toBe(true)
    // Its event loop was blocked for an hour; meanwhile another process took the file over.
    now += 3_600_000
    rmSync(`${path}.lock`)
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, token: 'new-owner' }))
    await store.close()
    expect(existsSync(`${path}-wal`)).toBe(true)
    expect(lockOf(path).token).toBe('new-owner')
  })

  it('keeps its lock through a moment when the lock file cannot be read, and writes again once it can', async () => {
    let now = Date.now()
    setLockProbe({ now: () => now, heartbeatMs: 1_000 })
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.insert({ now: 1000, jobs: [newJob()] })
    // Reading the lock fails (as it does when the process runs out of file descriptors).
    now += 5_000
    renameSync(`${path}.lock`, `${path}.lock.away`)
    mkdirSync(`${path}.lock`)
    expect(await store.insert({ now: 1000, jobs: [newJob()] }).then(() => undefined, (e: unknown) => e)).toBeInstanceOf(StorageError)
    rmdirSync(`${path}.lock`)
    renameSync(`${path}.lock.away`, `${path}.lock`)
    now += 5_000
    const later = newJob()
    await store.insert({ now: 1000, jobs: [later] })
    expect((await store.getJob(later.id))?.state).toBe('waiting')
    await store.close()
    expect(existsSync(`${path}.lock`)).toBe(false)
  })
})

describe('a lock of a worker_thread that is gone', () => {
  it('is taken over by the main thread once its heartbeat stopped, after the worker was terminated', async () => {
    const path = join(dir(), 'jobs.db')
    const worker = runThread('lock-opener.ts', { path })
    expect(await worker.next()).toEqual({ opened: true })
    await worker.worker.terminate()
    // Its heartbeat is recent: a live thread could have written it.
    expect(await openError(path)).toMatchObject({ code: 'STORE_LOCKED', pid: process.pid })
    age(path)
    const store = sqliteStore({ path })
    await store.open()
    expect(lockOf(path).pid).toBe(process.pid)
    await store.close()
  }, 60_000)
})

describe.runIf(hasProc)('a lock of a killed process that was not reaped (a zombie)', () => {
  it('is taken over', async () => {
    const path = join(dir(), 'jobs.db')
    // The shell becomes `sleep`, which never waits for its child: the killed child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], { stdio: ['ignore', 'pipe', 'ignore'] })
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(b.toString()))))
      writeFileSync(`${path}.lock`, JSON.stringify({ pid, token: 'zombie', started: procStarted(pid) }))
      // Once the shell is `sleep`: the shell itself would reap a child that died before.
      await expect.poll(() => readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim()).toBe('sleep')
      process.kill(pid, 'SIGKILL')
      await expect.poll(() => procState(pid)).toBe('Z')
      const store = sqliteStore({ path })
      await store.open()
      expect(lockOf(path).pid).toBe(process.pid)
      await store.close()
    } finally {
      parent.kill('SIGKILL')
    }
  })
})

describe('the lock of a database reached through a symlink', () => {
  it('is the lock of the file it points to, through a link to the file or to its directory', async () => {
    const d = dir()
    const real = join(d, 'jobs.db')
    symlinkSync(real, join(d, 'link.db')) // dangling until the store creates the file
    const other = join(dir(), 'dir-link')
    symlinkSync(d, other)
    const store = sqliteStore({ path: join(d, 'link.db') })
    await store.open()
    expect(existsSync(`${real}.lock`)).toBe(true)
    expect(await openError(real)).toBeInstanceOf(StoreLockedError)
    expect(await openError(join(other, 'jobs.db'))).toBeInstanceOf(StoreLockedError)
    await store.insert({ now: 1000, jobs: [newJob()] })
    expect(existsSync(`${real}-wal`)).toBe(true)
    expect(existsSync(join(d, 'link.db-wal'))).toBe(false)
    await store.close()
  })
})

describe('leftovers beside the lock', () => {
  it('removes the temporary files of openers killed more than a minute ago, and takes over a lock that is an old dangling symlink', async () => {
    const path = join(dir(), 'jobs.db')
    const old = `${path}.lock.abc123.tmp`
    const recent = `${path}.lock.def456.tmp`
    writeFileSync(old, '{}')
    utimesSync(old, hourAgo(), hourAgo())
    writeFileSync(recent, '{}')
    symlinkSync(join(dir(), 'nowhere'), `${path}.lock`)
    lutimesSync(`${path}.lock`, hourAgo(), hourAgo())
    const store = sqliteStore({ path })
    await store.open()
    expect(lockOf(path).pid).toBe(process.pid)
    expect(existsSync(old)).toBe(false)
    expect(existsSync(recent)).toBe(true)
    await store.close()
  })

  it('refuses a lock that is a directory with a StorageError that names it', async () => {
    const path = join(dir(), 'jobs.db')
    mkdirSync(`${path}.lock`)
    utimesSync(`${path}.lock`, hourAgo(), hourAgo())
    const err = await openError(path)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).not.toBeInstanceOf(StoreLockedError)
    expect((err as Error).message).toContain(`${path}.lock is not a file`)
  })
})
