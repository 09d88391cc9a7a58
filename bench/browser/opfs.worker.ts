/**
 * A dedicated Worker running the OPFS subjects (the only place OPFS SQLite can run): ferry's
 * `sqliteStore({ path })` on opfs-sahpool, and the raw SQLite ceiling on the same pool with
 * the same pragmas. The page posts a subject's name and gets its rows back.
 *
 * @module
 */
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { sahPool } from '../../src/storage/wasm-sqlite/opfs.js'
import { loadSqlite } from '../../src/storage/wasm-sqlite/sqlite.js'
import { AHEAD } from '../lib/claim-ahead.js'
import { batchScenario, chainsScenario, plainScenario, queueAdapter } from '../lib/ferry.js'
import { ferryPragmas, rawSqlite, wasmConnection, type RawConnection } from '../lib/raw-sqlite.js'
import type { Row } from '../lib/result.js'
import { COMMON, runCommon } from '../lib/run-common.js'
import { smokeSizes } from '../lib/smoke.js'
import { OPFS_SIZES } from './sizes.js'
import { OPFS_FERRY, OPFS_RAW, claimAheadName } from './names.js'

let files = 0
const made: string[] = []

function path(prefix: string): string {
  const p = `/${prefix}-${Date.now()}-${files++}.db`
  made.push(p)
  return p
}

/** Deletes the databases of the scenario that just ran: the pool has few slots. */
async function cleanup(): Promise<void> {
  console.info(`opfs worker: scenario done at ${Math.round(performance.now())} ms`)
  const pool = await sahPool(await loadSqlite())
  for (const p of made.splice(0)) pool.unlink(p)
}

const ferryStore = () => sqliteStore({ path: path('ferry'), synchronous: 'normal' })

async function openRaw(): Promise<RawConnection> {
  const pool = await sahPool(await loadSqlite())
  const c = wasmConnection(new pool.OpfsSAHPoolDb(path('raw')))
  // The pragmas ferry's OPFS store sets, WAL checked: a rollback journal syncs more per commit.
  ferryPragmas(c, 'normal')
  return c
}

async function run(name: string, smoke: boolean): Promise<Row[]> {
  if (name === 'warm') return []
  const SIZES = smoke ? smokeSizes(OPFS_SIZES) : OPFS_SIZES
  await (await sahPool(await loadSqlite())).reserveMinimumCapacity(16)
  if (name === 'ferry:opfs') {
    const base = { subject: OPFS_FERRY, kind: 'ferry' as const }
    const rows = await runCommon(base, queueAdapter(ferryStore), SIZES, { after: cleanup })
    rows.push({ ...base, scenario: 'chains', ...(await chainsScenario(ferryStore, SIZES.chains)) })
    await cleanup()
    rows.push({ ...base, scenario: 'batch', ...(await batchScenario(ferryStore, SIZES.batch)) })
    await cleanup()
    rows.push({ ...base, scenario: 'plain', ...(await plainScenario(ferryStore, SIZES.plain)) })
    await cleanup()
    return rows
  }
  if (name === 'raw:opfs') {
    // The single commit is what ferry's dispatch to start on OPFS is measured against (by a
    // goal: ferry has no row of its own to set beside it).
    const rows = await runCommon({ subject: OPFS_RAW, kind: 'raw', compareTo: OPFS_FERRY }, rawSqlite(openRaw), SIZES, { after: cleanup, scenarios: [...COMMON, 'commit'] })
    return rows.map(({ compareTo, ...r }) => (r.scenario === 'commit' ? r : { ...r, compareTo }))
  }
  if (name === 'raw:opfs-ahead') {
    const base = { subject: claimAheadName(OPFS_RAW, AHEAD), kind: 'raw' as const, compareTo: OPFS_FERRY }
    return runCommon(base, rawSqlite(openRaw, { ahead: AHEAD }), SIZES, { after: cleanup, scenarios: ['process-c1', 'process-c8'] })
  }
  throw new Error(`no OPFS subject ${name}`)
}

self.onmessage = (e: MessageEvent<{ name: string; smoke: boolean }>) => {
  run(e.data.name, e.data.smoke).then(
    (rows) => self.postMessage({ rows }),
    (err: unknown) => self.postMessage({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  )
}
