/**
 * The lock file beside a Node database: Node has no file locks, so `<database>.lock` names the
 * process that has the database open. A second process (or a second store in the same
 * process) is refused with `StoreLockedError` naming the owner's pid; a lock whose process is
 * gone (`process.kill(pid, 0)` says ESRCH) is taken over. Node only.
 *
 * The file is created with `wx` (fails if it exists), so two processes cannot both create it.
 * A stale lock is first renamed away (only one process can rename it), then created anew.
 *
 * Process ids are reused: a container restarts its app with the same pid, and another program
 * may get the pid of one that died. So a lock naming this process is ours only if this process
 * took it (its token is one we hold), and on Linux the lock records the owner's start time
 * (`/proc/<pid>/stat`), so a live process with the same pid but another start time is not it.
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
  /** The owner's start time in clock ticks after boot, where /proc tells it (Linux). */
  started?: string
}

/** Tokens of the locks this process holds. */
const held = new Set<string>()

/** Takes the lock on `dbPath`, or throws `StoreLockedError` (with a `pid` property). */
export function acquireLock(dbPath: string): LockFile {
  const lockPath = `${dbPath}.lock`
  const started = startTime(process.pid)
  const me: Owner = { pid: process.pid, token: Math.random().toString(36).slice(2), ...(started === undefined ? {} : { started }) }
  for (let round = 0; round < 10; round++) {
    try {
      const fd = fs.openSync(lockPath, 'wx', 0o644)
      try {
        fs.writeSync(fd, `${JSON.stringify({ ...me, since: new Date().toISOString() })}\n`)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      held.add(me.token)
      return { path: lockPath, release: () => release(lockPath, me) }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw new StorageError(`cannot create the lock file ${lockPath}`, { cause: err })
    }
    const owner = readOwner(lockPath)
    if (owner && holds(owner)) {
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
    if (typeof o.pid !== 'number' || typeof o.token !== 'string') return undefined
    return { pid: o.pid, token: o.token, ...(typeof o.started === 'string' ? { started: o.started } : {}) }
  } catch {
    return undefined
  }
}

/** Whether the process named in a lock file still holds it. */
function holds(owner: Owner): boolean {
  if (owner.pid === process.pid) return held.has(owner.token)
  if (!isAlive(owner.pid)) return false
  const started = owner.started === undefined ? undefined : startTime(owner.pid)
  return started === undefined || started === owner.started
}

/** Field 22 of /proc/<pid>/stat: when the process started. Undefined where there is no /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
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
  if (moved && stale && moved.token !== stale.token && holds(moved)) {
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
  held.delete(me.token)
  const owner = readOwner(lockPath)
  if (owner?.token === me.token) fs.rmSync(lockPath, { force: true })
}
