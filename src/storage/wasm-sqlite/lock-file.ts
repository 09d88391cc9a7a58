/**
 * The lock file beside a Node database: Node has no file locks, so `<database>.lock` names the
 * owner that has the database open. Any other opener (another process, another worker_thread
 * of this process, another store in this thread) is refused with `StoreLockedError`; a lock
 * whose owner is provably gone is taken over. Node only.
 *
 * Taking it: the owner's record is written and synced to a file of its own, which is then
 * hard-linked to `<database>.lock`. The link fails if the lock exists, so two openers cannot
 * both create it, and nobody ever sees a half-written lock. A lock that cannot be read anyway
 * (written by an older version in two steps, or damaged) counts as held until it is old.
 *
 * Who holds it. The record names the pid, a token and, where `/proc` tells it (Linux), the
 * process's start time; the owner also touches the file's mtime every `heartbeatMs` (its
 * heartbeat). The lock is held when:
 * - its token is one this module instance took (this thread has it open);
 * - it names another pid that is alive, and that pid's start time is the recorded one, or,
 *   where start times cannot be compared, its heartbeat is recent. A pid alone proves nothing:
 *   after a crash or a reboot the pid is often given to another program, so without start
 *   times only the heartbeat tells a live owner from a stranger with the same pid;
 * - it names this pid with a token this thread did not take: worker_threads of a process share
 *   its pid but not this module's state, so such a lock is another thread's (it is alive, this
 *   process is) unless it is from an earlier process that had this pid: one with another start
 *   time, or, where there are none, a stopped heartbeat.
 * An owner whose event loop is blocked cannot beat, and could see its lock taken over. So
 * before writing, an owner whose last beat is overdue beats and checks the lock still names
 * it (`check`, called by the VFS), and refuses to write if it does not: the blocked owner's
 * writes fail instead of overwriting the new owner's.
 *
 * Taking over: the stale lock is renamed away (only one opener can rename it), judged again
 * where it now lies, and put back if it turns out to be held after all (its owner beat in
 * the meantime). Then the lock is taken as above.
 *
 * @module
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { StorageError, StoreLockedError } from '../../core/errors.js'
import { syncDir } from './node-vfs.js'

export interface LockFile {
  readonly path: string
  /** Whether this owner still holds the lock; beats first if its heartbeat is due. */
  readonly check: () => boolean
  release(): void
}

interface Owner {
  pid: number
  token: string
  /** The owner's start time in clock ticks after boot, where /proc tells it (Linux). */
  started?: string
}

/** A lock file as found: its owner (undefined when unreadable) and how long since it beat. */
interface Seen {
  owner: Owner | undefined
  ageMs: number
}

/** What the lock learns from the platform, and its timing; replaceable in tests. */
export interface LockProbe {
  /** A process's start time, or undefined where it cannot be known (no /proc). */
  startTime(pid: number): string | undefined
  now(): number
  heartbeatMs: number
  /** A lock whose heartbeat is older is stale where its owner cannot be checked otherwise. */
  staleMs: number
}

const platform: LockProbe = { startTime: procStartTime, now: () => Date.now(), heartbeatMs: 2_000, staleMs: 20_000 }
let probe = platform

/** For tests: pretends another platform or timing (`undefined` restores the real one). */
export function setLockProbe(p: Partial<LockProbe> | undefined): void {
  probe = { ...platform, ...p }
}

/** Tokens of the locks this module instance (this thread) holds. */
const held = new Set<string>()

/** Takes the lock on `dbPath`, or throws `StoreLockedError` (with a `pid` property when known). */
export function acquireLock(dbPath: string): LockFile {
  const lockPath = `${dbPath}.lock`
  const started = probe.startTime(process.pid)
  const me: Owner = { pid: process.pid, token: Math.random().toString(36).slice(2), ...(started === undefined ? {} : { started }) }
  for (let round = 0; round < 10; round++) {
    const fd = create(lockPath, me)
    if (fd !== undefined) return holding(lockPath, me, fd)
    const seen = inspect(lockPath)
    if (!seen) continue // released meanwhile: try again
    if (holds(seen)) throw lockedError(dbPath, seen)
    takeOver(lockPath)
  }
  throw new StoreLockedError(`the database ${dbPath} is locked: its lock file ${lockPath} keeps changing`)
}

/** Creates the lock with `me` in it, all at once; returns an open descriptor, or undefined if a lock exists. */
function create(lockPath: string, me: Owner): number | undefined {
  const record = `${JSON.stringify({ ...me, since: new Date().toISOString() })}\n`
  const tmp = `${lockPath}.${me.token}.tmp`
  let fd: number | undefined
  try {
    fd = fs.openSync(tmp, 'wx+', 0o644)
    fs.writeSync(fd, record)
    fs.fsyncSync(fd)
    fs.linkSync(tmp, lockPath)
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd)
    fs.rmSync(tmp, { force: true })
    const code = (err as { code?: unknown }).code
    if (code === 'EEXIST') return undefined
    // A file system without hard links (FAT): create the lock in place. A reader that comes
    // between its creation and its write sees it unreadable, which counts as held.
    if (fd !== undefined && (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP')) return createInPlace(lockPath, record)
    throw new StorageError(`cannot create the lock file ${lockPath}`, { cause: err })
  }
  fs.rmSync(tmp, { force: true })
  syncDir(path.dirname(lockPath))
  return fd
}

function createInPlace(lockPath: string, record: string): number | undefined {
  let fd: number
  try {
    fd = fs.openSync(lockPath, 'wx+', 0o644)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') return undefined
    throw new StorageError(`cannot create the lock file ${lockPath}`, { cause: err })
  }
  fs.writeSync(fd, record)
  fs.fsyncSync(fd)
  syncDir(path.dirname(lockPath))
  return fd
}

function holding(lockPath: string, me: Owner, fd: number): LockFile {
  held.add(me.token)
  let lastBeat = probe.now()
  let lost = false
  let released = false
  const check = (): boolean => {
    if (released || lost) return false
    const now = probe.now()
    if (now - lastBeat < probe.heartbeatMs) return true
    // Beat first, through the descriptor: an opener that renamed the lock away in the
    // meantime then finds it fresh where it put it, and puts it back.
    try {
      fs.futimesSync(fd, now / 1000, now / 1000)
    } catch {
      // The next check tries again; the owner check below decides.
    }
    if (readOwner(lockPath)?.token === me.token) {
      lastBeat = now
      return true
    }
    lost = true
    clearInterval(timer)
    return false
  }
  // unref: the heartbeat alone does not keep the process alive.
  const timer = setInterval(check, probe.heartbeatMs)
  timer.unref()
  return {
    path: lockPath,
    check,
    release() {
      if (released) return
      released = true
      clearInterval(timer)
      held.delete(me.token)
      fs.closeSync(fd)
      if (!lost && readOwner(lockPath)?.token === me.token) fs.rmSync(lockPath, { force: true })
    },
  }
}

function lockedError(dbPath: string, { owner }: Seen): StoreLockedError {
  const who =
    owner === undefined ? `its lock file ${dbPath}.lock is being written or is unreadable (it is taken over once ${probe.staleMs / 1000} s old)`
    : owner.pid !== process.pid ? `process ${owner.pid} has it open`
    : held.has(owner.token) ? `this process (${owner.pid}) has it open in another store`
    : `another thread of this process (${owner.pid}) has it open`
  const err = new StoreLockedError(`the database ${dbPath} is locked: ${who}. Close that store first, or open another file.`)
  return owner === undefined ? err : Object.assign(err, { pid: owner.pid })
}

/** The lock as it is now; undefined when there is none. */
function inspect(lockPath: string): Seen | undefined {
  let fd: number
  try {
    fd = fs.openSync(lockPath, 'r')
  } catch {
    return undefined
  }
  try {
    const ageMs = probe.now() - fs.fstatSync(fd).mtimeMs
    return { owner: parseOwner(fs.readFileSync(fd, 'utf8')), ageMs }
  } catch {
    return undefined
  } finally {
    fs.closeSync(fd)
  }
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    return parseOwner(fs.readFileSync(lockPath, 'utf8'))
  } catch {
    return undefined
  }
}

function parseOwner(text: string): Owner | undefined {
  try {
    const o = JSON.parse(text) as Partial<Owner> | null
    if (typeof o?.pid !== 'number' || typeof o.token !== 'string') return undefined
    return { pid: o.pid, token: o.token, ...(typeof o.started === 'string' ? { started: o.started } : {}) }
  } catch {
    return undefined
  }
}

/** Whether the lock is held by a live owner (see the rules at the top). */
function holds({ owner, ageMs }: Seen): boolean {
  const beating = ageMs < probe.staleMs
  if (owner === undefined) return beating
  if (owner.pid === process.pid) {
    if (held.has(owner.token)) return true
    // Another thread of this process, or an earlier process with this pid.
    const mine = probe.startTime(process.pid)
    return owner.started !== undefined && mine !== undefined ? owner.started === mine : beating
  }
  if (!isAlive(owner.pid)) return false
  const started = owner.started === undefined ? undefined : probe.startTime(owner.pid)
  return started !== undefined ? started === owner.started : beating
}

/** Field 22 of /proc/<pid>/stat: when the process started. Undefined where there is no /proc. */
function procStartTime(pid: number): string | undefined {
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

/** Moves a stale lock out of the way, unless it turns out to be held once moved. */
function takeOver(lockPath: string): void {
  const aside = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`
  try {
    fs.renameSync(lockPath, aside)
  } catch {
    return // gone already: someone else took it over; try again
  }
  // What was moved may not be what was judged: a fresh lock that replaced it, or the same
  // lock, whose owner has beaten since. Judge again what lies there now.
  const moved = inspect(aside)
  if (moved && holds(moved)) {
    try {
      fs.linkSync(aside, lockPath)
    } catch {
      // Someone holds the place now; the next round reads who.
    }
  }
  fs.rmSync(aside, { force: true })
}
