/**
 * How the Chromium numbers were taken, printed under the tables.
 *
 * @module
 */
import { AHEAD } from '../lib/claim-ahead.js'
import { BROWSER_SIZES as S, OPFS_SIZES as O } from './sizes.js'

const n = (x: number) => x.toLocaleString('en-US')

export const BROWSER_METHOD = [
  '- Each subject runs in a fresh browser context (its own IndexedDB and OPFS). IndexedDB subjects run on the page; OPFS subjects in a dedicated Worker (the only place opfs-sahpool runs), timed there.',
  "- The memory column is the page's JS heap right after each scenario (`performance.memory`, Chromium started with --enable-precise-memory-info); it is not measured for the OPFS worker.",
  `- The scenarios and their sizes are Node's, with time limits: S1 up to ${n(S.dispatchOne.jobs)} dispatches or ${S.dispatchOne.seconds} s; S2 ${n(S.process.jobs)} pre-loaded jobs, limit ${S.process.seconds} s; S3 ${S.latency.samples} jobs one at a time, ${S.latency.gapMs.min}–${S.latency.gapMs.max} ms apart at random (one seeded sequence for all); S4 ${n(S.chains.chains)} chains of ${S.chains.steps} (limit ${S.chains.seconds} s) and a batch of ${n(S.batch.jobs)} (limit ${S.batch.seconds} s), measured against ${n(S.plain.jobs)} plain jobs in one dispatchMany with the engine running at concurrency 8, timed from the dispatch to the last handler. A row that hit its limit says how far it got. OPFS runs smaller: ${n(O.process.jobs)} pre-loaded jobs (limit ${O.process.seconds} s), ${O.latency.samples} latency samples, ${O.chains.chains} chains, a batch of ${n(O.batch.jobs)} and ${n(O.plain.jobs)} plain jobs.`,
  '- IndexedDB durability is the browser default (relaxed in Chromium), for ferry, the raw ceiling and Workbox alike (Workbox asks for relaxed itself).',
  '- Raw IndexedDB ceiling: one object store with a compound index for the claim; a dispatch is one put per transaction, dispatchMany 1,000 puts in one, processing one transaction per turn that marks c jobs done and leases the next c (getAll on the index).',
  `- Raw OPFS ceiling: @sqlite.org/sqlite-wasm on the same opfs-sahpool pool and pragmas as ferry's store (locking_mode=EXCLUSIVE, journal_mode=WAL, both checked, synchronous=NORMAL, temp_store=MEMORY), the statements of the Node raw ceiling. Its single commit (one INSERT in its own transaction, ${O.latency.samples} of them with S3's pauses) is what ferry's dispatch to start on OPFS is measured against.`,
  `- Raw ceilings with claim-ahead (rows named "claim-ahead ${AHEAD}", S2 only), IndexedDB and OPFS: one transaction settles every job finished since the last and leases enough that up to ${AHEAD} are held (running or buffered); c runners take jobs from that buffer, and the next transaction runs when the buffer falls below c: the like to compare an engine whose transaction carries many jobs with.`,
  "- Workbox: `new Queue(name, { forceSyncFallback: true })` on the page with a stand-in `self.registration` (the Queue is built for a service worker); a job is a POST Request; processing is c loops of `shiftRequest` with a no-op in place of fetch. `shiftRequest` reads an entry and deletes it in two transactions, so at concurrency 8 loops can get the same entry: each request is counted once (by its URL) and the row says how many repeats there were. Workbox's own `replayRequests` runs one loop.",
].join('\n')
