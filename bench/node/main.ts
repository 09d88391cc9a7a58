/**
 * `npm run bench`: every scenario of every Node subject in a process of its own, one after
 * another, then the tables. `npm run bench -- ferry:memory p-queue` runs only those subjects,
 * `BENCH_SMOKE=1` runs every size at a tenth; either writes nothing. `npm run bench -- postgres`
 * runs the Postgres group (ferry, graphile-worker and pg-boss on one PostgreSQL server the
 * bench starts) and writes its own results file; the full run leaves the group out.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { goalsTable } from '../lib/goals.js'
import { ensureBenchDeps } from '../lib/install.js'
import { LoadSampler, machineHeader } from '../lib/machine.js'
import { startPostgres, type Postgres } from '../lib/postgres.js'
import { startRedis } from '../lib/redis.js'
import type { Row, ScenarioId } from '../lib/result.js'
import { now } from '../lib/stats.js'
import { allTables } from '../lib/table.js'
import { NODE_GOALS } from './goals.js'
import { METHOD } from './method.js'
import { SMOKE } from './sizes.js'
import { POSTGRES_GROUP } from './postgres/names.js'
import { postgresReport } from './postgres/report.js'
import { PG_SCENARIOS } from './postgres/subjects.js'
import { DEFAULT_SUBJECTS, GROUPS, SUBJECTS } from './subjects.js'

const only = process.argv.slice(2)
const names = only.length > 0 ? only.flatMap((n) => GROUPS[n] ?? [n]) : DEFAULT_SUBJECTS
for (const n of names) if (!(n in SUBJECTS)) throw new Error(`no subject ${n}; known: ${[...Object.keys(GROUPS), ...Object.keys(SUBJECTS)].join(', ')}`)
const isPg = (n: string) => (POSTGRES_GROUP as readonly string[]).includes(n)
/** Only Postgres subjects: their own report; the whole group: their results file too. */
const pgOnly = names.every(isPg)
const pgWhole = pgOnly && POSTGRES_GROUP.every((n) => names.includes(n))

ensureBenchDeps()
const redis = names.includes('bullmq') ? await startRedis() : { unavailable: 'not run' }
const postgres: Postgres = names.some(isPg) ? await startPostgres() : { unavailable: 'not run' }
const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'))
const rows: Row[] = []
const load = new LoadSampler()
const t0 = now()
try {
  const env: NodeJS.ProcessEnv = { ...process.env }
  if ('port' in redis) env['BENCH_REDIS_PORT'] = String(redis.port)
  else env['BENCH_REDIS_UNAVAILABLE'] = redis.unavailable
  if ('url' in postgres) env['BENCH_POSTGRES_URL'] = postgres.url
  else env['BENCH_POSTGRES_UNAVAILABLE'] = postgres.unavailable
  const entry = fileURLToPath(new URL('./subject.ts', import.meta.url))
  const run = (name: string, scenario: ScenarioId) => {
    const out = join(dir, `${name.replace(/\W/g, '_')}-${scenario}.json`)
    const r = spawnSync(process.execPath, ['--import', 'tsx', entry, name, scenario, out, dir], { env, stdio: ['ignore', 'inherit', 'inherit'] })
    try {
      return JSON.parse(readFileSync(out, 'utf8')) as Row[]
    } catch {
      return [{ scenario, subject: name, kind: 'peer', unavailable: `the scenario's process failed (exit ${r.status ?? r.signal ?? '?'})` }] satisfies Row[]
    }
  }
  if (pgOnly) {
    // Scenario by scenario, every subject in turn: the load of a shared machine drifts over
    // minutes, and subjects compared in one scenario should meet the same.
    for (const scenario of PG_SCENARIOS) {
      const started = now()
      load.sample()
      for (const name of names) rows.push(...run(name, scenario))
      console.error(`bench: ${scenario} done in ${((now() - started) / 1000).toFixed(1)} s`)
    }
  } else {
    for (const name of names) {
      const started = now()
      load.sample()
      for (const scenario of SUBJECTS[name]?.().scenarios ?? []) rows.push(...run(name, scenario))
      console.error(`bench: ${name} done in ${((now() - started) / 1000).toFixed(1)} s`)
    }
  }
} finally {
  if ('stop' in redis) await redis.stop()
  if ('stop' in postgres) await postgres.stop()
  rmSync(dir, { recursive: true, force: true })
}

const command = `${SMOKE ? 'BENCH_SMOKE=1 ' : ''}npm run bench${only.length > 0 ? ` -- ${only.join(' ')}` : ''}`
const took = `Full run took ${Math.round((now() - t0) / 1000)} s`
if (pgOnly) {
  const server = 'url' in postgres ? `${postgres.version} on 127.0.0.1 (${postgres.settings})` : `PostgreSQL: ${postgres.unavailable}`
  const report = postgresReport(machineHeader('ferry benchmarks: Postgres', command, [server, took, load.line('each scenario')]), rows)
  console.log(report)
  if (pgWhole && !SMOKE) writeFileSync(new URL('../results/postgres.md', import.meta.url), `${report}\n`)
} else {
  const extra = ['port' in redis ? `redis-server ${redis.version} on 127.0.0.1 (AOF, appendfsync everysec)` : `Redis: ${redis.unavailable}`]
  const report = [
    machineHeader('ferry benchmarks: Node', command, [...extra, took, load.line()]),
    '## Speed goals',
    goalsTable(NODE_GOALS, rows),
    '## Results',
    allTables(rows),
    '## Method',
    METHOD,
  ].join('\n\n')
  console.log(report)
  if (only.length === 0 && !SMOKE) writeFileSync(new URL('../results/node.md', import.meta.url), `${report}\n`)
}
