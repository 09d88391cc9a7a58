import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { QueueClosedError, StorageError, StoreLockedError } from '../../../src/core/errors.js'
import { SCHEMA_TOO_NEW, sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { setVfsTrace } from '../../../src/storage/wasm-sqlite/node-vfs.js'
import { MIGRATIONS } from '../../../src/storage/wasm-sqlite/schema.js'
import { SQL } from '../../../src/storage/wasm-sqlite/statements.js'
import { newJob } from '../../../src/testing/contract/harness.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()

/** The sqlite3 command-line tool, when this machine has one. */
const cli = spawnSync('sqlite3', ['-version']).status === 0 ? 'sqlite3' : undefined

describe('the Node file store', () => {
  it('runs in WAL mode with exclusive locking, synchronous NORMAL by default and FULL on request', async () => {
    for (const [synchronous, expected] of [[undefined, 1], ['full', 2]] as const) {
      const store = sqliteStore({ path: join(dir(), 'jobs.db'), ...(synchronous ? { synchronous } : {}) })
      const pragmas = await store.transaction((tx) => ({
        journal: tx.query('PRAGMA journal_mode')[0],
        locking: tx.query('PRAGMA locking_mode')[0],
        synchronous: tx.query('PRAGMA synchronous')[0],
        version: tx.query('PRAGMA user_version')[0],
      }))
      expect(pragmas).toEqual({
        journal: { journal_mode: 'wal' },
        locking: { locking_mode: 'exclusive' },
        synchronous: { synchronous: expected },
        version: { user_version: MIGRATIONS.length },
      })
      await store.close()
    }
  })

  it('keeps jobs across close and reopen, and removes its lock file on close', async () => {
    const path = join(dir(), 'jobs.db')
    let store = sqliteStore({ path })
    const j = newJob({ payload: { name: 'cat.jpg', sizes: [1, 2, 3], meta: { ok: true, none: null } } })
    await store.insert({ now: 1000, jobs: [j] })
    expect(existsSync(`${path}.lock`)).toBe(true)
    expect(existsSync(`${path}-wal`)).toBe(true)
    await store.close()
    expect(existsSync(`${path}.lock`)).toBe(false)
    store = sqliteStore({ path })
    expect(await store.getJob(j.id)).toMatchObject({ id: j.id, state: 'waiting', payload: j.payload, seq: 1 })
    await store.insert({ now: 1000, jobs: [newJob()] })
    expect((await store.counts(1000)).waiting).toBe(2)
    await store.close()
  })

  it('writes an ordinary SQLite file that the sqlite3 tool opens (or, without the tool, one with the SQLite header)', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    const jobs = [newJob({ payload: { n: 1 } }), newJob({ payload: { n: 2 } })]
    await store.insert({ now: 1000, jobs })
    await store.close()
    expect(readFileSync(path).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0')
    if (cli) {
      const out = execFileSync(cli, [path, 'PRAGMA integrity_check; PRAGMA journal_mode; SELECT id, state, payload FROM ferry_jobs ORDER BY seq;'], {
        encoding: 'utf8',
      })
      expect(out.trim().split('\n')).toEqual(['ok', 'wal', `${jobs[0]?.id}|waiting|{"n":1}`, `${jobs[1]?.id}|waiting|{"n":2}`])
    } else {
      const again = sqliteStore({ path })
      expect(await again.transaction((tx) => tx.query('PRAGMA integrity_check'))).toEqual([{ integrity_check: 'ok' }])
      expect((await again.listJobs({}, 1000)).map((j) => j.payload)).toEqual([{ n: 1 }, { n: 2 }])
      await again.close()
    }
  })

  it('refuses a database of a newer schema with SCHEMA_TOO_NEW and leaves the file untouched', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.insert({ now: 1000, jobs: [newJob()] })
    await store.close()
    // user_version is the big-endian 32-bit integer at offset 60 of the header.
    const bytes = readFileSync(path)
    bytes.writeUInt32BE(MIGRATIONS.length + 1, 60)
    writeFileSync(path, bytes)
    const newer = sqliteStore({ path })
    const err = await newer.open().then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StorageError)
    expect(err).toMatchObject({ code: SCHEMA_TOO_NEW })
    expect((err as Error).message).toMatch(/newer than this version of ferry/)
    await newer.close()
    expect(readFileSync(path).equals(bytes)).toBe(true)
    expect(existsSync(`${path}-wal`)).toBe(false)
    expect(existsSync(`${path}.lock`)).toBe(false)
  })

  it('refuses a second store on the same file in this process with StoreLockedError naming this pid', async () => {
    const path = join(dir(), 'jobs.db')
    const first = sqliteStore({ path })
    await first.open()
    const second = sqliteStore({ path })
    const err = await second.getJob('x').then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(err).toMatchObject({ code: 'STORE_LOCKED', pid: process.pid })
    await first.close()
    // Once the first closed, the second opens on its next call.
    expect(await second.getJob('x')).toBeUndefined()
    await second.close()
  })

  it('takes over a lock left by a process that is gone', async () => {
    const path = join(dir(), 'jobs.db')
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    const pid = Number(dead.stdout)
    writeFileSync(`${path}.lock`, JSON.stringify({ pid, token: 'stale' }))
    const store = sqliteStore({ path })
    await store.open()
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid })
    await store.close()
    expect(existsSync(`${path}.lock`)).toBe(false)
  })

  it.runIf(existsSync('/proc/self/stat'))('takes over a lock whose pid now belongs to another process (Linux start times differ)', async () => {
    const path = join(dir(), 'jobs.db')
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.ppid, token: 'reused', started: '1' }))
    const store = sqliteStore({ path })
    await store.open()
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, started: expect.any(String) })
    await store.close()
  })

  it('refuses an unreadable lock file while it is recent (being written), and takes it over once it is old (a crash while writing it)', async () => {
    const path = join(dir(), 'jobs.db')
    for (const garbled of ['', '{"pi']) {
      writeFileSync(`${path}.lock`, garbled)
      const refused = sqliteStore({ path })
      const err = await refused.open().then(() => undefined, (e: unknown) => e)
      expect(err).toBeInstanceOf(StoreLockedError)
      expect((err as Error).message).toMatch(/being written or is unreadable/)
      await refused.close()
      expect(readFileSync(`${path}.lock`, 'utf8')).toBe(garbled)

      const then = new Date(Date.now() - 3_600_000)
      utimesSync(`${path}.lock`, then, then)
      const store = sqliteStore({ path })
      const j = newJob()
      await store.insert({ now: 1000, jobs: [j] })
      expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, token: expect.any(String) })
      expect((await store.getJob(j.id))?.state).toBe('waiting')
      await store.close()
      expect(existsSync(`${path}.lock`)).toBe(false)
    }
  })
})

describe('durability of new files', () => {
  it('syncs the directory after creating the lock, the database and its WAL, before the first commit is acknowledged (synchronous full)', async () => {
    const d = dir()
    const path = join(d, 'jobs.db')
    const calls: string[] = []
    setVfsTrace((call, p) => calls.push(`${call} ${p}`))
    try {
      const store = sqliteStore({ path, synchronous: 'full' })
      await store.open() // its migration is the first commit
      const atOpen = [...calls]
      await store.insert({ now: 1000, jobs: [newJob()] })
      await store.close()

      const walCreated = atOpen.indexOf(`create ${path}-wal`)
      expect(walCreated, atOpen.join('\n')).toBeGreaterThanOrEqual(0)
      const walSynced = atOpen.indexOf(`sync ${path}-wal`, walCreated)
      expect(walSynced, 'the commit syncs the WAL').toBeGreaterThan(walCreated)
      expect(atOpen.indexOf(`dirsync ${d}`, walCreated), 'the directory is synced after the WAL is created').toBeGreaterThan(walCreated)
      const dbCreated = atOpen.indexOf(`create ${path}`)
      expect(atOpen.lastIndexOf(`dirsync ${d}`, dbCreated), 'the lock file is linked into place before the database is opened').toBeGreaterThanOrEqual(0)
      expect(atOpen.indexOf(`dirsync ${d}`, dbCreated), 'the directory is synced after the database is created').toBeGreaterThan(dbCreated)
      // Once per new file, not at every commit.
      expect(calls.filter((c) => c === `dirsync ${d}`).length).toBe(atOpen.filter((c) => c === `dirsync ${d}`).length)
    } finally {
      setVfsTrace(undefined)
    }
  })
})

describe('query plans', () => {
  const plan = async (sql: string, bind: (string | number)[]): Promise<string> => {
    const store = sqliteStore()
    const rows = await store.transaction((tx) => tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, bind))
    await store.close()
    return rows.map((r) => r.detail).join('\n')
  }

  it('claims from the partial index of waiting jobs, in index order, without a sort', async () => {
    const p = await plan(SQL.ready, ['default', 't', 10])
    expect(p).toMatch(/USING INDEX ferry_jobs_waiting \(queue=\? AND type=\?\)/)
    expect(p).not.toMatch(/TEMP B-TREE/)
  })

  it('finds due delayed jobs, expired leases and old finished jobs through their partial indexes', async () => {
    expect(await plan(SQL.due, ['q', 1, 10])).toMatch(/USING INDEX ferry_jobs_delayed \(queue=\? AND run_at<\?\)/)
    expect(await plan(SQL.expired, [1, '["q"]', '["t"]', 10])).toMatch(/USING INDEX ferry_jobs_active \(lease_until<\?\)/)
    expect(await plan(SQL.finishedBefore, [1, 10])).toMatch(/USING INDEX ferry_jobs_finished/)
    for (const [sql, bind] of [[SQL.due, ['q', 1, 10]], [SQL.expired, [1, '["q"]', '["t"]', 10]], [SQL.finishedBefore, [1, 10]]] as const) {
      expect(await plan(sql, [...bind])).not.toMatch(/TEMP B-TREE|SCAN ferry_jobs/)
    }
  })
})

describe('closing', () => {
  it('rejects open() and transaction() after close with QueueClosedError, and leaves the file unlocked', async () => {
    const path = join(dir(), 'jobs.db')
    const store = sqliteStore({ path })
    await store.close()
    await expect(store.open()).rejects.toBeInstanceOf(QueueClosedError)
    await expect(store.transaction(() => 1)).rejects.toBeInstanceOf(QueueClosedError)
    expect(existsSync(`${path}.lock`)).toBe(false)
  })
})
