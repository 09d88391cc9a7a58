/**
 * The crash test's kill switch for the Node VFS: `FERRY_TEST_VFS_KILL`, read when the VFS is
 * installed, makes the process kill itself inside a write, a sync or a checkpoint.
 *
 * @module
 */
import * as fs from 'node:fs'
import type { OpenFile } from './node-vfs.js'

/**
 * For tests: `FERRY_TEST_VFS_KILL=<where>:<n>` kills the process with SIGKILL, after printing
 * `vfs-kill <where> <file>` to stdout:
 * - `write:<n>`: once n writes went to a WAL, at the first point after that inside a commit
 *   (a frame written, the commit's last frame not yet), which leaves uncommitted frames;
 * - `sync:<n>`: in the n-th sync, before it syncs;
 * - `checkpoint:<n>`: after the n-th write to a database file, which in WAL mode happens only
 *   in a checkpoint (with the WAL copied in part).
 * Unset, there is no switch and the VFS does nothing more.
 */
const SQLITE_OPEN_MAIN_DB = 0x100

export function killSwitch(spec: string | undefined): { wrote(f: OpenFile, heap: Uint8Array, src: number, n: number, at: number): void; syncing(f: OpenFile): void } | undefined {
  if (spec === undefined || spec === '') return undefined
  const [where, count] = spec.split(':')
  const n = Number(count)
  if ((where !== 'write' && where !== 'sync' && where !== 'checkpoint') || !(n >= 1)) throw new Error(`FERRY_TEST_VFS_KILL: expected write:<n>, sync:<n> or checkpoint:<n>, got ${spec}`)
  const die = (file: string): void => {
    fs.writeSync(1, `vfs-kill ${where} ${file}\n`)
    process.kill(process.pid, 'SIGKILL')
  }
  let walWrites = 0
  let dbWrites = 0
  let syncs = 0
  let commitFrame = true
  return {
    wrote(f, heap, src, size, at) {
      if (f.path.endsWith('-wal')) {
        walWrites++
        // A frame is its 24-byte header (bytes 4-7: the database size, non-zero only in a
        // commit's last frame), then its page, each written on its own.
        if (size === 24 && at >= 32) commitFrame = (heap[src + 4]! | heap[src + 5]! | heap[src + 6]! | heap[src + 7]!) !== 0
        else if (where === 'write' && size > 24 && walWrites >= n && !commitFrame) die(f.path)
      } else if ((f.flags & SQLITE_OPEN_MAIN_DB) !== 0 && where === 'checkpoint' && ++dbWrites >= n) die(f.path)
    },
    syncing(f) {
      if (where === 'sync' && ++syncs >= n) die(f.path)
    },
  }
}
