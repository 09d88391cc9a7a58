/**
 * The Postgres results: goals, a summary table per measure, the detailed tables, and how the
 * numbers were taken.
 *
 * @module
 */
import { goalsTable, type Goal } from '../../lib/goals.js'
import { int, ms } from '../../lib/format.js'
import type { Row, ScenarioId } from '../../lib/result.js'
import { allTables, jobsPerSecond } from '../../lib/table.js'
import { BATCH } from './pg-boss.js'
import { COMPLETE_DELAY_MS, LOCAL_QUEUE } from './graphile-worker.js'
import { FERRY_POSTGRES, GRAPHILE_WORKER, GRAPHILE_WORKER_BATCHED, PG_BOSS } from './names.js'
import { PG_SIZES } from './subjects.js'

const GW = GRAPHILE_WORKER

export const POSTGRES_GOALS: Goal[] = [
  { label: 'ferry ≥ graphile-worker, processed, concurrency 1, one process', kind: 'ratio', scenario: 'process-c1', a: FERRY_POSTGRES, b: GW, min: 1 },
  { label: 'ferry ≥ graphile-worker, processed, concurrency 8, one process', kind: 'ratio', scenario: 'process-c8', a: FERRY_POSTGRES, b: GW, min: 1 },
  { label: 'ferry ≥ graphile-worker, processed, concurrency 1, two processes', kind: 'ratio', scenario: 'process-c1-2p', a: FERRY_POSTGRES, b: GW, min: 1 },
  { label: 'ferry ≥ graphile-worker, processed, concurrency 8, two processes', kind: 'ratio', scenario: 'process-c8-2p', a: FERRY_POSTGRES, b: GW, min: 1 },
  { label: 'ferry: dispatch resolved → handler start, p50, idle worker', kind: 'p50', scenario: 'latency-return', a: FERRY_POSTGRES, max: 5 },
  { label: 'ferry: the same, dispatched by another process', kind: 'p50', scenario: 'latency-return-2p', a: FERRY_POSTGRES, max: 5 },
]

const PROCESS: [ScenarioId, string][] = [
  ['process-c1', 'c1, 1 process'],
  ['process-c8', 'c8, 1 process'],
  ['process-c1-2p', 'c1, 2 processes'],
  ['process-c8-2p', 'c8, 2 processes'],
]

function find(rows: readonly Row[], scenario: ScenarioId, subject: string): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.subject === subject)
}

/** jobs/s per subject and setup, and the latency quantiles, one line per subject. */
export function summary(rows: readonly Row[]): string {
  const subjects = [...new Set(rows.map((r) => r.subject))]
  const cell = (r: Row | undefined, f: (r: Row) => string) => (r === undefined ? '–' : r.unavailable !== undefined ? 'unavailable' : f(r))
  const out = [
    '| subject | ' + PROCESS.map(([, label]) => `jobs/s ${label}`).join(' | ') + ' | wait p50 ms | wait p95 ms | from another process: wait p50 ms | p95 ms |',
    '|---|' + PROCESS.map(() => '--:').join('|') + '|--:|--:|--:|--:|',
  ]
  for (const s of subjects) {
    const jps = PROCESS.map(([id]) => cell(find(rows, id, s), (r) => int(jobsPerSecond(r) ?? 0)))
    const lat = [find(rows, 'latency-return', s), find(rows, 'latency-return-2p', s)].flatMap((r) => [cell(r, (x) => ms(x.p50)), cell(r, (x) => ms(x.p95))])
    out.push(`| ${s} | ${jps.join(' | ')} | ${lat.join(' | ')} |`)
  }
  return out.join('\n')
}

const n = (x: number) => x.toLocaleString('en-US')

export const POSTGRES_METHOD = [
  '- One PostgreSQL server for the run, made by the bench (`bench/lib/postgres.ts`): initdb in a temp directory, on 127.0.0.1, the settings above (fsync and synchronous_commit on: every commit waits for its WAL flush, the same durability for every subject), stopped and deleted at the end. Every scenario gets a new database, dropped after it.',
  '- Every scenario runs in a Node process of its own (`bench/node/subject.ts`); a pg.Pool per subject and process, 10 connections (graphile-worker: its advice, at least 10 or concurrency + 2). Handlers are no-ops. Each subject migrates its schema in its factory, before any timer.',
  `- Processed: ${n(PG_SIZES.process.jobs)} jobs dispatched first (dispatchMany of 1,000; graphile-worker \`addJobs\`, pg-boss \`insert\`), not timed; then timed from starting the workers until the last handler ran and every worker stopped (settling what it ran), limit ${PG_SIZES.process.seconds} s. Concurrency is per process. Two processes: a second Node process (\`bench/node/postgres/second.ts\`) makes the same subject on the same database before the clock starts and starts its worker with the first; it reports its count over IPC.`,
  `- Wait: the worker started and idle at concurrency 1; ${PG_SIZES.latency.samples} jobs one at a time, each after a pause drawn at random from ${PG_SIZES.latency.gapMs.min}–${PG_SIZES.latency.gapMs.max} ms (the same seeded sequence for every subject); measured from the moment the dispatch's promise resolved (the job committed) to the handler starting. Twice: dispatched in the worker's own process, and by a second Node process on the same database (its worker never started), the two processes reading one clock (\`performance.timeOrigin + performance.now()\`).`,
  `- graphile-worker: \`run()\` with its defaults (one job fetched per worker, each completion its own statement, LISTEN/NOTIFY), the row the goals name; and with the batching its performance guide describes: \`localQueue: { size: ${LOCAL_QUEUE} }\` (jobs fetched and locked ahead per process) and \`completeJobBatchDelay: ${COMPLETE_DELAY_MS}\` (completions that meet go out in one statement). pg-boss: \`useListenNotify\` and a queue with \`notify\`, polling at 0.5 s (its minimum) as the fallback; since a pg-boss worker sleeps its polling interval after every fetch unless the fetch came back full with \`burstWhenBatchFull\` (ignored at batchSize 1), concurrency c is c workers (\`localConcurrency\`) fetching up to ${BATCH} jobs at a time and running them one after another.`,
  `- ferry: \`postgresStore({ pool })\`, \`createQueue({ store, concurrency })\`, the same no-op handler.`,
  `- Rows: ${[FERRY_POSTGRES, GRAPHILE_WORKER, GRAPHILE_WORKER_BATCHED, PG_BOSS].join('; ')}.`,
].join('\n')

/** The whole results file. */
export function postgresReport(header: string, rows: readonly Row[]): string {
  return [header, '## Speed goals', goalsTable(POSTGRES_GOALS, rows, { distance: true }), '## Summary', summary(rows), '## Results', allTables(rows), '## Method', POSTGRES_METHOD].join('\n\n')
}
