/**
 * A SQLite VFS over synchronous `node:fs` calls: how the Node build of SQLite WASM, which has
 * only in-memory databases, gets durable files. Node only; loaded by a dynamic import.
 *
 * Modelled on the opfs-sahpool VFS of the package. What matters:
 * - Each method returns a SQLite result code and never throws: an exception escaping into the
 *   C side leaves it in an undefined state.
 * - 64-bit offsets and sizes arrive as BigInt.
 * - The WASM heap can grow, which replaces its buffer: the heap view is fetched on every call.
 * - There is no shared memory (`xShm*`), so WAL needs `locking_mode=EXCLUSIVE`, and there are no
 *   file locks between processes: `lock-file.ts` keeps other processes out, and the lock
 *   methods here only track the level SQLite asked for.
 *
 * - A file the VFS creates (the database, its WAL or journal) has its directory synced at its
 *   first sync, as SQLite's Unix VFS does: syncing a new file does not make its directory entry
 *   durable, and a power cut could otherwise lose a WAL and the commits synced into it.
 * - Every call that changes the database's files (creating, writing, truncating, syncing or
 *   deleting the database, its WAL or its journal) asks the write guard of the lock file first,
 *   which refuses once the lock has been lost (see `lock-file.ts`): an owner whose lock was
 *   taken over touches nothing, not even the WAL that SQLite deletes by name when it closes.
 *
 * For tests: `setVfsFault` makes writes to a database fail (a full disk, an I/O error);
 * `setVfsTrace` records the file-system calls; `FERRY_TEST_VFS_KILL` (read when the VFS is
 * installed) kills the process at a chosen write, sync or checkpoint.
 *
 * @module
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm'
import { killSwitch } from './vfs-kill-switch.js'

export const NODE_VFS = 'ferry-node'

export interface OpenFile {
  fd: number
  path: string
  flags: number
  lock: number
  /** Created by this open: its directory is synced at its first sync. */
  dirSync: boolean
  /** The lock file's check, for a database file (and its WAL and journal) opened under a lock. */
  guard: (() => boolean) | undefined
}

/** A failure to inject: `rc` is returned by writes (and syncs) to files under `prefix`. */
interface Fault {
  prefix: string
  rc: number
}

const faults = new Map<string, Fault>()

/**
 * For tests: writes and syncs to the database at `dbPath` (and its journal and WAL) return the
 * SQLite result code `rc` (13 = SQLITE_FULL, 778 = SQLITE_IOERR_WRITE) until it is cleared with
 * `undefined`.
 */
export function setVfsFault(dbPath: string, rc: number | undefined): void {
  const prefix = realPath(dbPath)
  if (rc === undefined) faults.delete(prefix)
  else faults.set(prefix, { prefix, rc })
}

/** A file-system call the VFS made, for tests. */
export type VfsCall = 'create' | 'open' | 'write' | 'sync' | 'dirsync' | 'delete'
let trace: ((call: VfsCall, path: string) => void) | undefined

/** For tests: `fn` is told of each file-system call the VFS and the lock file make. */
export function setVfsTrace(fn: ((call: VfsCall, path: string) => void) | undefined): void {
  trace = fn
}

const guards = new Map<string, () => boolean>()

/**
 * Makes every change to the files of the database at `dbPath` (and its WAL and journal) ask
 * `check` first, and fail with an I/O error when it says no (the lock has been lost);
 * `undefined` removes it.
 */
export function setWriteGuard(dbPath: string, check: (() => boolean) | undefined): void {
  if (check === undefined) guards.delete(dbPath)
  else guards.set(dbPath, check)
}

function guardOf(file: string): (() => boolean) | undefined {
  for (const [db, check] of guards) if (file === db || file === `${db}-wal` || file === `${db}-journal`) return check
  return undefined
}

/**
 * The path of the file itself, symlinks resolved (as SQLite's Unix VFS does): a database
 * reached through a link has the same lock, WAL and journal as by its own path. A file that
 * does not exist yet is named within its directory's real path.
 */
export function realPath(file: string): string {
  let abs = path.resolve(file)
  for (let hops = 0; hops < 40; hops++) {
    try {
      return fs.realpathSync(abs)
    } catch {
      // Missing, or a link to a file yet to be created: follow the link by hand.
    }
    let target: string
    try {
      target = fs.readlinkSync(abs)
    } catch {
      break
    }
    abs = path.resolve(path.dirname(abs), target)
  }
  try {
    return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs))
  } catch {
    return abs
  }
}

/** Makes the entries of `dir` durable (new or removed files). Throws what `fs` throws. */
export function syncDir(dir: string): void {
  trace?.('dirsync', dir)
  // Windows cannot open a directory for fsync; NTFS journals its metadata instead.
  if (process.platform === 'win32') return
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

const installed = new WeakSet<Sqlite3Static>()

/** Registers the VFS with this SQLite module (once) and returns its name. */
export function installNodeVfs(sqlite3: Sqlite3Static): string {
  if (installed.has(sqlite3)) return NODE_VFS
  const { capi, wasm } = sqlite3
  const files = new Map<number, OpenFile>()
  const heap = (): Uint8Array => wasm.heap8u()
  const ioerr = (e: unknown, rc: number): number => {
    const code = (e as { code?: unknown } | null)?.code
    return code === 'ENOSPC' || code === 'EDQUOT' ? capi.SQLITE_FULL : rc
  }
  const fault = (f: OpenFile): number => {
    for (const x of faults.values()) if (f.path.startsWith(x.prefix)) return x.rc
    return 0
  }
  const kill = killSwitch(process.env['FERRY_TEST_VFS_KILL'])

  // The package's typings lag its structs: `$`-members are the raw C fields.
  const io = new capi.sqlite3_io_methods()
  ;(io as unknown as { $iVersion: number }).$iVersion = 1
  const ioMethods = {
    xClose(pFile: number): number {
      const f = files.get(pFile)
      if (!f) return 0
      files.delete(pFile)
      try {
        fs.closeSync(f.fd)
        if (f.flags & capi.SQLITE_OPEN_DELETEONCLOSE) fs.rmSync(f.path, { force: true })
        return 0
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_CLOSE)
      }
    },
    xRead(pFile: number, pDest: number, n: number, offset64: bigint | number): number {
      const f = files.get(pFile)
      if (!f) return capi.SQLITE_IOERR_READ
      try {
        const dest = Number(pDest)
        const at = Number(offset64)
        let done = 0
        while (done < n) {
          const got = fs.readSync(f.fd, heap(), dest + done, n - done, at + done)
          if (got === 0) break
          done += got
        }
        if (done < n) {
          // SQLite requires the unread tail to be zeroed.
          heap().fill(0, dest + done, dest + n)
          return capi.SQLITE_IOERR_SHORT_READ
        }
        return 0
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_READ)
      }
    },
    xWrite(pFile: number, pSrc: number, n: number, offset64: bigint | number): number {
      const f = files.get(pFile)
      if (!f) return capi.SQLITE_IOERR_WRITE
      const injected = fault(f)
      if (injected !== 0) return injected
      if (f.guard && !f.guard()) return capi.SQLITE_IOERR_WRITE
      try {
        const src = Number(pSrc)
        const at = Number(offset64)
        trace?.('write', f.path)
        let done = 0
        while (done < n) done += fs.writeSync(f.fd, heap(), src + done, n - done, at + done)
        kill?.wrote(f, heap(), src, n, at)
        return 0
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_WRITE)
      }
    },
    xTruncate(pFile: number, size64: bigint | number): number {
      const f = files.get(pFile)
      if (!f) return capi.SQLITE_IOERR_TRUNCATE
      if (f.guard && !f.guard()) return capi.SQLITE_IOERR_TRUNCATE
      try {
        fs.ftruncateSync(f.fd, Number(size64))
        return 0
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_TRUNCATE)
      }
    },
    xSync(pFile: number, flags: number): number {
      const f = files.get(pFile)
      if (!f) return capi.SQLITE_IOERR_FSYNC
      const injected = fault(f)
      if (injected !== 0) return injected
      if (f.guard && !f.guard()) return capi.SQLITE_IOERR_FSYNC
      kill?.syncing(f)
      try {
        trace?.('sync', f.path)
        if (flags & capi.SQLITE_SYNC_DATAONLY) fs.fdatasyncSync(f.fd)
        else fs.fsyncSync(f.fd)
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_FSYNC)
      }
      if (f.dirSync) {
        f.dirSync = false
        try {
          syncDir(path.dirname(f.path))
        } catch {
          // As SQLite's Unix VFS: some file systems cannot sync a directory; the file is synced.
        }
      }
      return 0
    },
    xFileSize(pFile: number, pSize64: number): number {
      const f = files.get(pFile)
      if (!f) return capi.SQLITE_IOERR_FSTAT
      try {
        wasm.poke64(pSize64, BigInt(fs.fstatSync(f.fd).size))
        return 0
      } catch (e) {
        return ioerr(e, capi.SQLITE_IOERR_FSTAT)
      }
    },
    xLock(pFile: number, level: number): number {
      const f = files.get(pFile)
      if (f && level > f.lock) f.lock = level
      return 0
    },
    xUnlock(pFile: number, level: number): number {
      const f = files.get(pFile)
      if (f && level < f.lock) f.lock = level
      return 0
    },
    xCheckReservedLock(pFile: number, pOut: number): number {
      // Other processes are kept out by the lock file: nobody else can hold a lock.
      wasm.poke32(pOut, 0)
      return 0
    },
    xFileControl(): number {
      return capi.SQLITE_NOTFOUND
    },
    xSectorSize(): number {
      return 4096
    },
    xDeviceCharacteristics(): number {
      return capi.SQLITE_IOCAP_POWERSAFE_OVERWRITE
    },
  }

  const vfs = new capi.sqlite3_vfs()
  const defaultVfs = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null))
  vfs.$iVersion = 2
  vfs.$szOsFile = (capi.sqlite3_file as unknown as { structInfo: { sizeof: number } }).structInfo.sizeof
  vfs.$mxPathname = 1024
  ;(vfs as unknown as { $xRandomness: number }).$xRandomness = (defaultVfs as unknown as { $xRandomness: number }).$xRandomness
  defaultVfs.dispose()
  const vfsMethods = {
    xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
      try {
        const name = zName ? (wasm.cstrToJs(zName) ?? '') : ''
        const file = name !== '' ? name : path.join(os.tmpdir(), `ferry-sqlite-${process.pid}-${Math.random().toString(36).slice(2)}`)
        let oflags = flags & capi.SQLITE_OPEN_READWRITE ? fs.constants.O_RDWR : fs.constants.O_RDONLY
        if (flags & capi.SQLITE_OPEN_CREATE) oflags |= fs.constants.O_CREAT
        if (flags & capi.SQLITE_OPEN_EXCLUSIVE) oflags |= fs.constants.O_EXCL
        const created = (flags & capi.SQLITE_OPEN_CREATE) !== 0 && !fs.existsSync(file)
        const guard = guardOf(file)
        if (guard && (flags & capi.SQLITE_OPEN_READWRITE) !== 0 && !guard()) return capi.SQLITE_CANTOPEN
        trace?.(created ? 'create' : 'open', file)
        const fd = fs.openSync(file, oflags, 0o644)
        // A temporary file is deleted on close: its directory entry need not survive.
        const dirSync = created && (flags & capi.SQLITE_OPEN_DELETEONCLOSE) === 0
        files.set(pFile, { fd, path: file, flags, lock: capi.SQLITE_LOCK_NONE, dirSync, guard })
        const sq3File = new capi.sqlite3_file(pFile)
        sq3File.$pMethods = io.pointer
        sq3File.dispose()
        if (pOutFlags) wasm.poke32(pOutFlags, flags)
        return 0
      } catch {
        return capi.SQLITE_CANTOPEN
      }
    },
    xDelete(_pVfs: number, zName: number, dirSync: number): number {
      const name = wasm.cstrToJs(zName) ?? ''
      const guard = guardOf(name)
      if (guard && !guard()) return capi.SQLITE_IOERR_DELETE
      try {
        trace?.('delete', name)
        fs.unlinkSync(name)
      } catch (e) {
        return (e as { code?: unknown }).code === 'ENOENT' ? capi.SQLITE_IOERR_DELETE_NOENT : capi.SQLITE_IOERR_DELETE
      }
      if (dirSync) {
        // The unlink itself must survive a power cut: sync the directory that held the file.
        try {
          syncDir(path.dirname(name))
        } catch {
          return capi.SQLITE_IOERR_DIR_FSYNC
        }
      }
      return 0
    },
    xAccess(_pVfs: number, zName: number, flags: number, pOut: number): number {
      const name = wasm.cstrToJs(zName) ?? ''
      const mode =
        flags === capi.SQLITE_ACCESS_READWRITE ? fs.constants.R_OK | fs.constants.W_OK
        : flags === capi.SQLITE_ACCESS_READ ? fs.constants.R_OK
        : fs.constants.F_OK
      let ok = 1
      try {
        fs.accessSync(name, mode)
      } catch {
        ok = 0
      }
      wasm.poke32(pOut, ok)
      return 0
    },
    xFullPathname(_pVfs: number, zName: number, nOut: number, pOut: number): number {
      try {
        const bytes = new TextEncoder().encode(path.resolve(wasm.cstrToJs(zName) ?? ''))
        if (bytes.length + 1 > nOut) return capi.SQLITE_CANTOPEN
        const h = heap()
        h.set(bytes, Number(pOut))
        h[Number(pOut) + bytes.length] = 0
        return 0
      } catch {
        return capi.SQLITE_CANTOPEN
      }
    },
    xSleep(): number {
      return 0
    },
    xCurrentTime(_pVfs: number, pOut: number): number {
      wasm.poke(pOut, 2440587.5 + Date.now() / 864e5, 'double')
      return 0
    },
    xCurrentTimeInt64(_pVfs: number, pOut: number): number {
      wasm.poke64(pOut, 210866760000000n + BigInt(Date.now()))
      return 0
    },
    xGetLastError(): number {
      return 0
    },
  }
  sqlite3.vfs.installVfs({
    io: { struct: io, methods: ioMethods as never },
    vfs: { struct: vfs, methods: vfsMethods as never, name: NODE_VFS },
  })
  installed.add(sqlite3)
  return NODE_VFS
}
