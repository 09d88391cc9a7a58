/**
 * How the Node numbers were taken, printed under the tables.
 *
 * @module
 */
import { SIZES } from './sizes.js'

const n = (x: number) => x.toLocaleString('en-US')

export const METHOD = [
  '- Every subject runs in a process of its own (`bench/node/subject.ts`); the memory column is that process\'s peak resident set (RSS), all its scenarios included.',
  '- Handlers are no-ops. Every scenario starts on a fresh queue and a fresh database file in a temp directory.',
  `- S1: sequential awaited dispatches, up to ${n(SIZES.dispatchOne.jobs)} or ${SIZES.dispatchOne.seconds} s; p50/p99 per call. dispatchMany: ${SIZES.dispatchMany.calls} calls of 1,000 (up to ${SIZES.dispatchMany.seconds} s).`,
  `- S2: ${n(SIZES.process.jobs)} jobs loaded first (not timed; loading also stops at the time limit), then timed from start() until the last handler ran and stop() settled it (limit ${SIZES.process.seconds} s).`,
  `- S3: ${SIZES.latency.samples} jobs one at a time, ${SIZES.latency.gapMs} ms apart, engine running: time from calling dispatch to the handler starting. plainjob and liteque poll: both at 10 ms here (plainjob's default is 1,000 ms).`,
  `- S4: chains and the batch run at concurrency 8 with the engine started before dispatch (limits ${SIZES.chains.seconds} s and ${SIZES.batch.seconds} s).`,
  `- S5: SQLite file store, synchronous=normal, concurrency 8; ${n(SIZES.scale.large)} real jobs are dispatched with dispatchMany of 5,000, then the first ${n(SIZES.scale.processed)} processed; the 1,000 row is ${SIZES.scale.processed / SIZES.scale.small} rounds of 1,000 loaded and drained.`,
  '- Raw ceilings: the same engine and durability without a queue. SQLite: @sqlite.org/sqlite-wasm with ferry\'s node:fs VFS and pragmas (EXCLUSIVE, WAL, same synchronous), a table with the id unique and one partial index for the claim, one INSERT per transaction for a dispatch, 1,000 per transaction for dispatchMany, and one transaction per turn that marks the last c jobs done and leases the next c. Memory: a Map and an array.',
  '- Peers: p-queue (add on a paused queue; not durable), plainjob and liteque on better-sqlite3 12 (WAL, the same synchronous as the ferry row they are compared with; plainjob runs one job per worker, so concurrency c is c workers), BullMQ on a local redis-server started for the run (127.0.0.1, AOF with appendfsync everysec, the nearest to synchronous=normal).',
  '- Workers: SQLite file store (normal). Dispatch cost: 2,000 sequential dispatches, local queue vs `connectQueue` to a queue hosted in a worker_thread. Event-loop delay: `monitorEventLoopDelay` (1 ms resolution) on the main thread while 10,000 pre-loaded jobs are processed at concurrency 8 by the main thread\'s own engine, or by the worker\'s.',
].join('\n')
