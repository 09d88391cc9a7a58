/**
 * How the Node numbers were taken, printed under the tables.
 *
 * @module
 */
import { POLL_MS } from './plainjob.js'
import { SIZES } from './sizes.js'
import { AHEAD } from '../lib/claim-ahead.js'

const n = (x: number) => x.toLocaleString('en-US')

export const METHOD = [
  "- Every scenario of every subject runs in a process of its own (`bench/node/subject.ts`); the memory column is that process's peak resident set (RSS): the runtime (Node with tsx, about 75 MB alone), the libraries of that subject only, and that one scenario.",
  '- Handlers are no-ops. Every scenario starts on a fresh queue and a fresh database file in a temp directory, opened before any timer starts (for ferry: its first `counts()` loads SQLite, takes the lock and migrates).',
  `- S1: sequential awaited dispatches, up to ${n(SIZES.dispatchOne.jobs)} or ${SIZES.dispatchOne.seconds} s; p50/p99 per call. dispatchMany: ${SIZES.dispatchMany.calls} calls of 1,000 (up to ${SIZES.dispatchMany.seconds} s).`,
  `- S2: ${n(SIZES.process.jobs)} jobs loaded first (not timed; loading also stops at the time limit), then timed from start() until the last handler ran and stop() settled it (limit ${SIZES.process.seconds} s).`,
  `- S3: ${SIZES.latency.samples} jobs one at a time, engine running, with pauses between them drawn at random from ${SIZES.latency.gapMs.min}–${SIZES.latency.gapMs.max} ms (the same seeded sequence for every subject): the time from calling dispatch to the handler starting. plainjob and liteque poll when idle, at ${POLL_MS} ms here (plainjob's default is 1,000 ms); plainjob is also measured polling every 1 ms.`,
  `- S4: chains and the batch run at concurrency 8 with the engine started before dispatch (limits ${SIZES.chains.seconds} s and ${SIZES.batch.seconds} s). Their yardstick, on the same store: ${n(SIZES.plain.jobs)} plain jobs in one dispatchMany with the engine running at concurrency 8, timed from the dispatch to the last handler.`,
  `- S5: SQLite file store, synchronous=normal, concurrency 8. ${n(SIZES.scale.small)} or ${n(SIZES.scale.large)} jobs are dispatched (dispatchMany of 5,000), then ${n(SIZES.scale.processed)} run in one start(), timed from start(); after every 250 run, 250 more are dispatched, so both runs do the same work with the queue kept at its size. listJobs: ${n(SIZES.list.jobs)} jobs dispatched (dispatchMany of 5,000, not timed), then \`listJobs({ state: 'waiting', limit: 100 })\` called up to ${SIZES.list.calls} times (or ${SIZES.list.seconds} s); p50/p99 per call.`,
  "- Raw ceilings: the same durability without a queue: a table with the id unique and one partial index for the claim, one INSERT per transaction for a dispatch, 1,000 per transaction for dispatchMany, and one transaction per turn that marks the last c jobs done and leases the next c. Two of them on a file, with ferry's pragmas (locking_mode=EXCLUSIVE and journal_mode=WAL, both checked, the same synchronous, temp_store=MEMORY): **ferry's engine**, @sqlite.org/sqlite-wasm through ferry's node:fs VFS, the ceiling of what ferry's store can reach without changing engine; and **native SQLite** through better-sqlite3 12, the same statements, the ceiling of the storage itself. Memory: a Map and an array.",
  `- Raw ceilings with claim-ahead (rows named "claim-ahead ${AHEAD}", S2 only): the same statements, but one transaction settles every job finished since the last and leases enough that up to ${AHEAD} are held (running or buffered); c runners take jobs from that buffer, and the next transaction runs when the buffer falls below c. This is the form of an engine whose transaction carries many jobs, the like to compare such an engine with.`,
  "- Peers: p-queue (add on a paused queue; not durable); plainjob (better-sqlite3 12) and liteque (its own install on better-sqlite3 11.3, the version its project pins: later releases reject its async transaction), both with WAL, locking_mode=EXCLUSIVE (one process and one connection, as ferry's store) and the same synchronous as the ferry row they are compared with; plainjob runs one job per worker, so concurrency c is c workers; BullMQ on a local redis-server started for the run (127.0.0.1, AOF with appendfsync everysec, the nearest to synchronous=normal).",
  `- Workers: SQLite file store (normal). Dispatch cost: ${n(SIZES.workers.dispatches)} sequential dispatches, local queue vs \`connectQueue\` to a queue hosted in a worker_thread. Event-loop delay: \`monitorEventLoopDelay\` (1 ms resolution) on the main thread while ${n(SIZES.workers.jobs)} pre-loaded jobs are processed at concurrency 8 by the main thread's own engine, or by the worker's.`,
].join('\n')
