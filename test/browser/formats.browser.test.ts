/**
 * Every IndexedDB database an earlier ferry wrote in Chromium (test/fixtures/formats/idb-vN.json,
 * see scripts/fixtures/README.md), recreated as it was and opened by this ferry's idbStore: it is
 * upgraded in place, holds what its manifest lists, and runs all its remaining work to the end.
 * One whose ferry schema is newer than this ferry knows is refused and left as it was.
 */
/// <reference types="vite/client" />
import { afterEach, describe, expect, it } from 'vitest'
import { StorageError } from '../../src/core/errors.js'
import { SCHEMA_VERSION, idbStore } from '../../src/storage/idb/index.js'
import type { Manifest } from '../../scripts/fixtures/scenario.js'
import { dumpIdb } from '../../scripts/fixtures/dump-idb.js'
import type { IdbDump } from '../fixtures/formats/idb-dump.js'
import { deleteIdb, loadIdb } from '../fixtures/formats/load-idb.js'
import { expectContent, expectRunsToTheEnd } from '../fixtures/formats/manifest-checks.js'

// Every fixture in the directory, whatever versions it holds.
const dumps = import.meta.glob<IdbDump>('../fixtures/formats/idb-v*.json', { eager: true, import: 'default' })
const manifests = import.meta.glob<Manifest>('../fixtures/formats/idb-v*.manifest.json', { eager: true, import: 'default' })
const fixtures = Object.entries(dumps)
  .filter(([path]) => !path.endsWith('.manifest.json'))
  .map(([path, dump]) => {
    const manifest = manifests[path.replace(/\.json$/, '.manifest.json')]
    if (!manifest) throw new Error(`${path} has no manifest`)
    return { file: path.split('/').pop() as string, dump, manifest }
  })

const run = Date.now().toString(36)
let n = 0
const made: string[] = []
afterEach(async () => {
  for (const name of made.splice(0)) await deleteIdb(name)
})

/** The fixture's database, recreated under a name of its own. */
async function load(dump: IdbDump): Promise<string> {
  const name = `ferry-format-${run}-${++n}`
  made.push(name)
  await loadIdb(dump, name)
  return name
}

/** The fixture of the newest schema: what this ferry writes, to compare upgraded ones with. */
const newest = fixtures.reduce((a, b) => (b.manifest.schema > a.manifest.schema ? b : a))

/** Each store's definition: key path, key generator, indexes. */
const definitions = (dump: IdbDump) => dump.stores.map(({ records: _, ...definition }) => definition)

/**
 * The derived index fields (`_ix`) of a job record, as dumped, but `version`: it derives from the
 * record's `dispatchedBy` and `processedBy`, which the scenario writes from schema 5 on and an
 * older ferry never wrote, so an upgraded record rightly has none.
 */
const indexFields = (dump: IdbDump, id: string) => {
  const ix = (dump.stores.find((s) => s.name === 'ferry.jobs')?.records.find((r) => r.key === id)?.value as { _ix?: Record<string, unknown> } | undefined)?._ix
  if (ix === undefined) return undefined
  const { version: _, ...rest } = ix
  return rest
}

const schemaOf = (dump: IdbDump) => dump.stores.find((s) => s.name === 'ferry.meta')?.records.find((r) => r.key === 'schema')?.value

describe('IndexedDB databases of every earlier schema (Chromium)', () => {
  it('include the fixture of schema 2 and of the current schema', () => {
    const versions = fixtures.map((f) => f.manifest.schema)
    expect(versions).toContain(2)
    expect(versions).toContain(SCHEMA_VERSION)
    for (const f of fixtures) expect(schemaOf(f.dump), f.file).toBe(f.manifest.schema)
  })

  it('are recreated exactly as dumped', async () => {
    for (const f of fixtures) {
      const name = await load(f.dump)
      expect(await dumpIdb(name)).toEqual({ ...f.dump, name })
    }
  })

  describe.each(fixtures)('$file', ({ dump, manifest }) => {
    it('is upgraded in place to the current schema and holds what its manifest lists', { timeout: 60_000 }, async () => {
      const name = await load(dump)
      const store = idbStore({ name })
      try {
        await expectContent(store, manifest)
      } finally {
        await store.close()
      }
      // Upgraded, it is what this ferry would have written: the same stores and indexes, the
      // same meta records, and every job the same index fields as in the newest fixture, which
      // the same scenario wrote at the same times.
      const after = await dumpIdb(name)
      expect(schemaOf(after)).toBe(SCHEMA_VERSION)
      expect(after.version).toBe(newest.dump.version)
      expect(definitions(after)).toEqual(definitions(newest.dump))
      expect(after.stores.find((s) => s.name === 'ferry.meta')).toEqual(newest.dump.stores.find((s) => s.name === 'ferry.meta'))
      for (const id of Object.keys(manifest.after.states)) expect(indexFields(after, id), id).toEqual(indexFields(newest.dump, id))
    })

    it('runs all its remaining work to the end: chains, batches, callbacks once, the dead engine\'s job taken over', { timeout: 60_000 }, async () => {
      const name = await load(dump)
      await expectRunsToTheEnd(idbStore({ name }), manifest)
      const again = idbStore({ name })
      try {
        for (const [id, state] of Object.entries(manifest.after.states)) expect((await again.getJob(id))?.state, id).toBe(state)
      } finally {
        await again.close()
      }
    })

    it('is refused with SCHEMA_TOO_NEW, records and version untouched, when a newer ferry wrote it', async () => {
      // What a newer ferry leaves in a database of its own: both its schema in ferry.meta and
      // the IndexedDB version (the two agree in a database ferry owns) past this ferry's.
      const newer = SCHEMA_VERSION + 1
      const bumped: IdbDump = {
        ...dump,
        version: newer,
        stores: dump.stores.map((s) =>
          s.name !== 'ferry.meta' ? s : { ...s, records: s.records.map((r) => (r.key === 'schema' ? { key: r.key, value: newer } : r)) },
        ),
      }
      const name = await load(bumped)
      const before = await dumpIdb(name)
      const store = idbStore({ name })
      const err = await store.counts(manifest.openAt).then(() => undefined, (e: unknown) => e)
      await store.close()
      expect(err).toBeInstanceOf(StorageError)
      expect(err).toMatchObject({ code: 'SCHEMA_TOO_NEW', message: expect.stringContaining(`schema ${newer}`) })
      expect(await dumpIdb(name)).toEqual(before)
    })
  })
})
