/**
 * The lock file beside a Node database: Node has no file locks, so `<database>.lock` names the
 * process that has the database open. A second process (or a second store in the same
 * process) is refused with `StoreLockedError` naming the owner's pid; a lock whose process is
 * gone (`process.kill(pid, 0)` says ESRCH) is taken over. Node only.
 *
 * The file is created with `wx` (fails if it exists), so two processes cannot both create it.
 * A stale lock is first renamed away (only one process can rename it), then created anew.
 *
 * @module
 */
import * as fs from 'node:fs'
import { StorageError, StoreLockedError } from '../../core/errors.js'

export interface LockFile {
  readonly path: string
  release(): void
}

interface Owner {
  pid: number
  token: string
}

/** Takes the lock on `dbPath`, or throws `StoreLockedError` (with a `pid` property). */
export function acquireLock(dbPath: string): LockFile {
  const lockPath = `${dbPath}.lock`
  const me: Owner = { pid: process.pid, token: Math.random().toString(36).slice(2) }
  for (let round = 0; round < 10; round++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o644)
      try {
        fs.writeSync(fd, `${JSON.stringify({ ...me, since: new Date().toISOString() })}\n`)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      return { path: lockPath, release: () => release(lockPath, me) }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw new StorageError(`cannot create the lock file ${lockPath}`, { cause: err })
    }
    const owner = readOwner(lockPath)
    if (owner && isAlive(owner.pid)) {
      const who = owner.pid === process.pid ? `this process (${owner.pid}) has it open in another store` : `process ${owner.pid} has it open`
      throw Object.assign(
        new StoreLockedError(`the database ${dbPath} is locked: ${who}. Close that store first, or open another file.`),
        { pid: owner.pid },
      )
    }
    takeOver(lockPath, owner)
  }
  throw new StoreLockedError(`the database ${dbPath} is locked: its lock file ${lockPath} keeps changing`)
}

/** The owner named in a lock file; undefined when it is gone, or unreadable (a crash mid-write). */
function readOwner(lockPath: string): Owner | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Partial<Owner>
    return typeof o.pid === 'number' && typeof o.token === 'string' ? { pid: o.pid, token: o.token } : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as { code?: unknown }).code !== 'ESRCH'
  }
}

/** Moves a stale lock out of the way, unless another process replaced it in the meantime. */
function takeOver(lockPath: string, stale: Owner | undefined): void {
  const aside = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    fs.renameSync(lockPath, aside)
  } catch {
    return // gone already: someone else took it over; try again
  }
  const moved = readOwner(aside)
  if (moved && stale && moved.token !== stale.token && isAlive(moved.pid)) {
    // A fresh lock was moved by mistake: put it back if the place is still free.
    try {
      fs.linkSync(aside, lockPath)
    } catch {
      // Someone else holds the place now; the next round reads who.
    }
  }
  fs.rmSync(aside, { force: true })
}

function release(lockPath: string, me: Owner): void {
  const owner = readOwner(lockPath)
  if (owner?.token === me.token) fs.rmSync(lockPath, { force: true })
}
