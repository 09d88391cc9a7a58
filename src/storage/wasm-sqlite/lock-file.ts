/**
 * The lock file beside a Node database: Node has no file locks, so `<database>.lock` names the
 * owner that has the database open. Any other opener (another process, another worker_thread
 * of this process, another store in this thread) is refused with `StoreLockedError`; a lock
 * whose owner is provably gone is taken over. Node only.
 *
 * Taking it: the owner's record is written and synced to a file of its own, which is then
 * hard-linked to `<database>.lock`. The link fails if the lock exists, so two openers cannot
 * both create it, and nobody ever sees a half-written lock. A lock that cannot be read anyway
 * (written by an older version in two steps, damaged, or a symlink) counts as held until old.
 *
 * Who holds it. The record names the pid, a token and, where `/proc` tells it (Linux), the
 * process's start time; the owner also touches the file's mtime every `heartbeatMs` (its
 * heartbeat). The lock is held when:
 * - its token is one this module instance took (this thread has it open);
 * - it names another pid that is alive (not a zombie), and that pid's start time is the
 *   recorded one, or, where start times cannot be compared, its heartbeat is recent. A pid
 *   alone proves nothing: after a crash or a reboot the pid is often given to another program,
 *   so without start times only the heartbeat tells a live owner from a stranger with the pid;
 * - it names this pid with a token this thread did not take, this process's start time (or
 *   none), and a recent heartbeat: worker_threads share the pid but not this module's state,
 *   so such a lock is another thread's. A thread that was terminated or crashed stops beating
 *   and its lock is taken over once the heartbeat is stale; nothing else tells it apart from a
 *   live thread (threads share no state they are not handed).
 * An owner whose event loop is blocked cannot beat, and could see its lock taken over. So an
 * owner checks that the lock still names it before its first change to the files, and again
 * whenever its last beat is overdue (`check`, called by the VFS before every change): a
 * blocked owner's changes fail instead of overwriting the new owner's. A lock that cannot be
 * read for a moment (no file descriptors left) refuses that change but is not lost.
 *
 * Taking over: see `takeOver`. A stale lock is only ever replaced by a rename (atomic) made
 * while holding an exclusive claim on that very stale record, so a live lock is never removed.
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
  ino: number
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

/** A temporary file or takeover claim this old is left from an opener that died: removed. */
const LEFTOVER_MS = 60_000
/** At most this much of a lock file is read: a record is a line; anything longer is damaged. */
const MAX_RECORD = 4096

/** Takes the lock on `dbPath`, or throws `StoreLockedError` (with a `pid` property when known). */
export function acquireLock(dbPath: string): LockFile {
  const lockPath = `${dbPath}.lock`
  const started = probe.startTime(process.pid)
  const me: Owner = { pid: process.pid, token: Math.random().toString(36).slice(2), ...(started === undefined ? {} : { started }) }
  removeLeftovers(lockPath)
  // The record is written and synced once, to a file of its own; the lock and any claim are
  // made from it whole (a hard link, or a copy where there are none).
  const tmp = `${lockPath}.${me.token}.tmp`
  writeRecord(tmp, me)
  try {
    for (let round = 0; round < 10; round++) {
      if (!place(tmp, lockPath)) {
        const seen = inspect(lockPath)
        if (seen === undefined) continue // released meanwhile: try again
        if (holds(seen)) throw lockedError(dbPath, seen)
        const outcome = takeOver(lockPath, seen, tmp, me, 0)
        if (outcome === 'changed') continue
        if (outcome !== 'taken') throw lockedError(dbPath, outcome, true)
      }
      // It must name this owner now: checked once more before anything is written.
      if (readOwner(lockPath).owner?.token === me.token) return holding(lockPath, me)
    }
  } finally {
    fs.rmSync(tmp, { force: true })
  }
  throw new StoreLockedError(`the database ${dbPath} is locked: its lock file ${lockPath} keeps changing`)
}

function writeRecord(tmp: string, me: Owner): void {
  const record = `${JSON.stringify({ ...me, since: new Date().toISOString() })}\n`
  try {
    const fd = fs.openSync(tmp, 'wx', 0o644)
    try {
      fs.writeSync(fd, record)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw new StorageError(`cannot create the lock file ${tmp}`, { cause: err })
  }
}

const noLinks = (code: unknown): boolean => code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP'

/**
 * Creates `target` with the record in `tmp`, unless something is there already (false). A
 * hard link makes it whole at once; a file system without them (FAT) gets an exclusive copy,
 * which a reader can see empty for a moment: an unreadable lock counts as held while young.
 */
function place(tmp: string, target: string): boolean {
  try {
    try {
      fs.linkSync(tmp, target)
    } catch (err) {
      if (!noLinks((err as { code?: unknown }).code)) throw err
      fs.copyFileSync(tmp, target, fs.constants.COPYFILE_EXCL)
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 'EEXIST') return false
    throw new StorageError(`cannot create the lock file ${target}`, { cause: err })
  }
  syncDir(path.dirname(target))
  return true
}

/** Puts the record in `tmp` in the place of `target`, atomically (rename replaces). */
function replace(tmp: string, target: string): void {
  const next = `${tmp}.next`
  fs.rmSync(next, { force: true })
  if (!place(tmp, next)) throw new StorageError(`cannot create the lock file ${next}`)
  try {
    fs.renameSync(next, target)
  } catch (err) {
    fs.rmSync(next, { force: true })
    throw new StorageError(`cannot replace the lock file ${target}`, { cause: err })
  }
  syncDir(path.dirname(target))
}

/**
 * Takes over `target` (the lock, or a claim on it), judged stale as `seen`. Renaming a fresh
 * record over it replaces it atomically, but between the judgement and the rename another
 * opener may have taken it over already: the rename would then remove a live lock. So the
 * takeover of one stale record is claimed first: `<target>.takeover-<its token>`, created
 * exclusively, is held by one opener at a time, which then reads the target again and replaces
 * it only if it is still the very record judged stale. Nothing is ever deleted or moved aside
 * that was not just confirmed stale. A claim whose opener died before it finished is itself
 * stale, and is taken over the same way (the depth bounds the chain).
 *
 * Returns 'taken' (`target` is now the record in `tmp`), 'changed' (it is no longer the stale
 * record: judge again), or the live claim of another opener that is taking it over.
 */
function takeOver(target: string, seen: Seen, tmp: string, me: Owner, depth: number): 'taken' | 'changed' | Seen {
  const claim = `${target}.takeover-${identity(seen)}`
  if (!place(tmp, claim)) {
    const other = inspect(claim)
    if (other === undefined) return 'changed'
    if (holds(other) || depth >= 3) return other
    const outcome = takeOver(claim, other, tmp, me, depth + 1)
    if (outcome !== 'taken') return outcome
  }
  try {
    const now = inspect(target)
    if (now === undefined || identity(now) !== identity(seen)) return 'changed'
    replace(tmp, target)
    return 'taken'
  } finally {
    // Only this opener's claim: one that was itself taken over belongs to its new holder.
    if (readOwner(claim).owner?.token === me.token) fs.rmSync(claim, { force: true })
  }
}

/** What names a lock record for its takeover claim: its token, or its inode when unreadable. */
function identity({ owner, ino }: Seen): string {
  return owner !== undefined && /^[a-z0-9]{1,40}$/i.test(owner.token) ? owner.token : `i${ino}`
}

/** Removes temporary files and claims beside the lock that openers killed long ago left. */
function removeLeftovers(lockPath: string): void {
  const dir = path.dirname(lockPath)
  const prefix = `${path.basename(lockPath)}.`
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return
  }
  const now = Date.now()
  for (const name of names) {
    if (!name.startsWith(prefix) || !(name.endsWith('.tmp') || name.endsWith('.tmp.next') || name.slice(prefix.length).startsWith('takeover-'))) continue
    const file = path.join(dir, name)
    try {
      if (now - fs.lstatSync(file).mtimeMs > LEFTOVER_MS) fs.rmSync(file, { force: true })
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}

function holding(lockPath: string, me: Owner): LockFile {
  held.add(me.token)
  // Due at once: the first write checks that the lock names this owner.
  let lastBeat = -Infinity
  let lost = false
  let released = false
  const check = (): boolean => {
    if (released || lost) return false
    const now = probe.now()
    if (now - lastBeat < probe.heartbeatMs) return true
    const { owner, failed } = readOwner(lockPath)
    if (owner?.token === me.token) {
      try {
        fs.utimesSync(lockPath, now / 1000, now / 1000)
      } catch {
        // The next beat tries again; a lock this owner holds is only taken over once it is old.
      }
      lastBeat = now
      return true
    }
    // A failed read (no file descriptors left, an I/O error) proves nothing: refuse this write
    // and ask again next time. Only a lock that names someone else, or none, is lost.
    if (failed) return false
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
      if (!lost && readOwner(lockPath).owner?.token === me.token) fs.rmSync(lockPath, { force: true })
    },
  }
}

function lockedError(dbPath: string, { owner }: Seen, takingOver = false): StoreLockedError {
  const who =
    owner === undefined ? `its lock file ${dbPath}.lock is being written or is unreadable (it is taken over once ${probe.staleMs / 1000} s old)`
    : takingOver ? `process ${owner.pid} is taking over its stale lock`
    : owner.pid !== process.pid ? `process ${owner.pid} has it open`
    : held.has(owner.token) ? `this process (${owner.pid}) has it open in another store`
    : `another thread of this process (${owner.pid}) has it open`
  const err = new StoreLockedError(`the database ${dbPath} is locked: ${who}. Close that store first, or open another file.`)
  return owner === undefined ? err : Object.assign(err, { pid: owner.pid })
}

/**
 * The lock (or claim) as it is now; undefined when there is none. A symlink is not followed:
 * ferry never makes one, so it is judged as an unreadable lock, by its own age.
 */
function inspect(lockPath: string): Seen | undefined {
  let st: fs.Stats
  try {
    st = fs.lstatSync(lockPath)
  } catch {
    return undefined
  }
  if (st.isDirectory()) {
    throw new StorageError(`${lockPath} is not a file, so ferry cannot tell who has the database open: remove it once no process has the database open`)
  }
  if (!st.isFile()) return { owner: undefined, ageMs: probe.now() - st.mtimeMs, ino: st.ino }
  let fd: number
  try {
    fd = fs.openSync(lockPath, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0))
  } catch {
    return undefined // replaced or removed meanwhile: judge again
  }
  try {
    const stat = fs.fstatSync(fd)
    const owner = parseOwner(readHead(fd))
    return { owner, ageMs: probe.now() - stat.mtimeMs, ino: stat.ino }
  } catch {
    return { owner: undefined, ageMs: probe.now() - st.mtimeMs, ino: st.ino }
  } finally {
    fs.closeSync(fd)
  }
}

function readHead(fd: number): string {
  const buf = Buffer.alloc(MAX_RECORD)
  let n = 0
  for (let got = -1; got !== 0 && n < buf.length; n += got) got = fs.readSync(fd, buf, n, buf.length - n, n)
  return buf.toString('utf8', 0, n)
}

/**
 * The owner the lock names. `failed`: it could not be read (no file descriptors left, an I/O
 * error), which tells nothing of who holds it; a lock that is gone names nobody.
 */
function readOwner(lockPath: string): { owner: Owner | undefined; failed: boolean } {
  let fd: number
  try {
    fd = fs.openSync(lockPath, 'r')
  } catch (err) {
    return { owner: undefined, failed: (err as { code?: unknown }).code !== 'ENOENT' }
  }
  try {
    return { owner: parseOwner(readHead(fd)), failed: false }
  } catch {
    return { owner: undefined, failed: true }
  } finally {
    fs.closeSync(fd)
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
    // Another thread of this process, or an earlier process that had this pid. A thread that
    // was terminated or crashed leaves its lock in a process that lives on: only its stopped
    // heartbeat tells it from a live thread.
    const mine = probe.startTime(process.pid)
    if (owner.started !== undefined && mine !== undefined && owner.started !== mine) return false
    return beating
  }
  if (!isAlive(owner.pid)) return false
  const started = owner.started === undefined ? undefined : probe.startTime(owner.pid)
  return started !== undefined ? started === owner.started : beating
}

/** The fields of /proc/<pid>/stat from the third on (state, ...); undefined where there is no /proc. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started. Undefined where there is no /proc. */
function procStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19]
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as { code?: unknown }).code !== 'ESRCH'
  }
  // A killed process that its parent has not reaped yet (a zombie, Z, or dying, X) still
  // answers signals, but will never touch the database again.
  const state = procStat(pid)?.[0]
  return state !== 'Z' && state !== 'X'
}
