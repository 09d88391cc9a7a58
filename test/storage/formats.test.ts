/**
 * Every SQLite file an earlier ferry wrote (test/fixtures/formats/sqlite-vN.db, see
 * scripts/fixtures/README.md), opened by this ferry's Node file store: it is upgraded in place,
 * holds what its manifest lists, and runs all its remaining work to the end. A file of a newer
 * schema than this ferry knows is refused and left byte for byte as it was.
 */
import { copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { StorageError } from '../../src/core/errors.js'
import { SCHEMA_TOO_NEW, sqliteStore, type SqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { MIGRATIONS } from '../../src/storage/wasm-sqlite/schema.js'
import type { Manifest } from '../../scripts/fixtures/scenario.js'
import { expectContent, expectRunsToTheEnd } from '../fixtures/formats/manifest-checks.js'
import { tempDirs } from './wasm-sqlite/temp-dir.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/formats/', import.meta.url))
const fixtures = readdirSync(FIXTURES)
  .filter((f) => /^sqlite-v\d+\.db$/.test(f))
  .map((file) => ({ file, manifest: JSON.parse(readFileSync(join(FIXTURES, file.replace(/\.db$/, '.manifest.json')), 'utf8')) as Manifest }))

const dir = tempDirs('ferry-formats-')

/** A copy of the fixture to open: the fixture itself is never written. */
function copyOf(file: string): string {
  const path = join(dir(), 'jobs.db')
  copyFileSync(join(FIXTURES, file), path)
  return path
}

/** The fixture of the newest schema: what this ferry writes, to compare upgraded ones with. */
const newest = fixtures.reduce((a, b) => (b.manifest.schema > a.manifest.schema ? b : a))

/** The schema (tables and indexes) and the jobs' columns that hold no random id. */
async function shape(store: SqliteStore, ids: string[]): Promise<{ schema: unknown[]; jobs: unknown[][] }> {
  return store.transaction((tx) => ({
    schema: tx.query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name LIKE 'ferry%' ORDER BY name"),
    jobs: ids.map((id) =>
      tx.query(
        'SELECT id, seq, queue, type, state, priority, run_at, created_at, finished_at, lease_owner, lease_until, unique_key, unique_until, payload FROM ferry_jobs WHERE id = ?',
        [id],
      ),
    ),
  }))
}

/** user_version: the big-endian 32-bit integer at offset 60 of the header. */
const userVersion = (path: string) => readFileSync(path).readUInt32BE(60)

describe('SQLite files of every earlier schema', () => {
  it('include the fixture of schema 2 and of the current schema', () => {
    const versions = fixtures.map((f) => f.manifest.schema)
    expect(versions).toContain(2)
    expect(versions).toContain(MIGRATIONS.length)
    for (const f of fixtures) expect(userVersion(join(FIXTURES, f.file)), f.file).toBe(f.manifest.schema)
  })

  describe.each(fixtures)('$file', ({ file, manifest }) => {
    it('is upgraded in place to the current schema and holds what its manifest lists', { timeout: 60_000 }, async () => {
      const path = copyOf(file)
      const store = sqliteStore({ path })
      const ids = Object.keys(manifest.after.states)
      let upgraded: Awaited<ReturnType<typeof shape>> | undefined
      try {
        await expectContent(store, manifest)
        expect(await store.transaction((tx) => tx.query('PRAGMA integrity_check'))).toEqual([{ integrity_check: 'ok' }])
        upgraded = await shape(store, ids)
        expect(upgraded.jobs.map((rows) => rows.length)).toEqual(ids.map(() => 1))
      } finally {
        await store.close()
      }
      expect(userVersion(path)).toBe(MIGRATIONS.length)
      // Upgraded, it is what this ferry would have written: the same tables and indexes, and the
      // same columns as in the newest fixture, which the same scenario wrote at the same times.
      const current = sqliteStore({ path: copyOf(newest.file) })
      try {
        expect(upgraded).toEqual(await shape(current, ids))
      } finally {
        await current.close()
      }
    })

    it('runs all its remaining work to the end: chains, batches, callbacks once, the dead engine\'s job taken over', { timeout: 60_000 }, async () => {
      const path = copyOf(file)
      await expectRunsToTheEnd(sqliteStore({ path }), manifest)
      // Closed: the results are in the file, read by a fresh store.
      const again = sqliteStore({ path })
      try {
        for (const [id, state] of Object.entries(manifest.after.states)) expect((await again.getJob(id))?.state, id).toBe(state)
      } finally {
        await again.close()
      }
    })

    it('is refused with SCHEMA_TOO_NEW, the file untouched, when a newer ferry wrote it', async () => {
      const path = copyOf(file)
      const bytes = readFileSync(path)
      bytes.writeUInt32BE(MIGRATIONS.length + 1, 60)
      writeFileSync(path, bytes)
      const store = sqliteStore({ path })
      const err = await store.open().then(() => undefined, (e: unknown) => e)
      await store.close()
      expect(err).toBeInstanceOf(StorageError)
      expect(err).toMatchObject({ code: SCHEMA_TOO_NEW, message: expect.stringContaining(`schema version ${MIGRATIONS.length + 1}`) })
      expect(readFileSync(path).equals(bytes)).toBe(true)
      for (const left of ['-wal', '-shm', '-journal', '.lock']) expect(existsSync(`${path}${left}`), left).toBe(false)
    })
  })
})
