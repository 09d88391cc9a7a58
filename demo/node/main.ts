/**
 * `npm start`: a photo outbox drained by one ferry engine on the Node file store, watched live.
 *
 * 300 uploads, thumbnails dispatched in one transaction, a resize → upload → notify chain and
 * an album batch with progress and settled callbacks. The simulated network drops about one
 * attempt in seven, so jobs retry; zero-byte files are corrupt and fail for good.
 *
 * The outbox is a SQLite file (`.ferry-demo/outbox.db`, or `FERRY_DEMO_DB`). Interrupt the demo
 * (Ctrl-C, or kill the process) and start it again: it finishes the jobs left and runs none of
 * those already done. Once an outbox is finished, the next start begins a new one.
 */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createQueue, job, UnrecoverableError, type BatchState, type ChainState, type JobContext } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { LiveRegion, paint, statusBlock, statusLine, summaryTable, type Snapshot } from './render.js'
import { Tally } from './tally.js'

interface Photo {
  name: string
  bytes: number
}

type Jobs = {
  'upload:photo': Photo
  'thumbnail:make': { name: string; size: number }
  'photo:resize': Photo
  'photo:notify': { name: string }
  'album:progress': { album: string }
  'album:settled': { album: string }
}

/** What the album batch's callbacks have reported. */
interface Album {
  name: string
  progressRuns: number
  seen?: BatchState
  settled?: BatchState
}

const PHOTOS = 300
const THUMBNAILS = 120
const ALBUM_SIZE = 24
const CHUNK_BYTES = 512 * 1024
const DROP_RATE = 0.15
/** Every so many photos one is corrupt, so some jobs fail for good. */
const CORRUPT_EVERY = 60
const FRAME_MS = 125
const PLAIN_REPORT_MS = 1000

class NetworkError extends Error {
  override name = 'NetworkError'
}

/**
 * Sends `steps` chunks with 5–40 ms of pretend I/O each, reporting progress. The connection
 * may drop at a random chunk, as a flaky mobile network would.
 */
async function transfer(ctx: JobContext, steps: number): Promise<void> {
  const dropAt = Math.random() < DROP_RATE ? 1 + Math.floor(Math.random() * steps) : 0
  for (let i = 1; i <= steps; i++) {
    // The signal lets the engine abort an attempt it no longer wants (timeout, stop, cancel).
    await sleep(5 + Math.random() * 35, undefined, { signal: ctx.signal })
    if (i === dropAt) throw new NetworkError(`ECONNRESET after chunk ${i}/${steps}`)
    await ctx.progress(Math.round((i / steps) * 100))
  }
}

function photo(name: string, corrupt: boolean): Photo {
  return { name, bytes: corrupt ? 0 : Math.round((0.3 + Math.random() * 3.7) * 1024 * 1024) }
}

const out = process.stdout
const live = out.isTTY
const p = paint(live && process.env['NO_COLOR'] === undefined)

const DB_PATH = process.env['FERRY_DEMO_DB'] ?? '.ferry-demo/outbox.db'
mkdirSync(dirname(DB_PATH), { recursive: true })

const queue = createQueue<Jobs>({ store: sqliteStore({ path: DB_PATH }), concurrency: 8, defaults: { retry: 3, backoff: 50 } })
const tally = new Tally(queue.events)
const album: Album = { name: 'Lisbon 2024', progressRuns: 0 }

queue.register('upload:photo', async (photo, ctx) => {
  // In the chain, upload what the resize step produced.
  const bytes = (ctx.previousResult as Photo | undefined)?.bytes ?? photo.bytes
  if (bytes === 0) throw new UnrecoverableError(`${photo.name} is corrupt (0 bytes); retrying cannot fix it`)
  await transfer(ctx, Math.ceil(bytes / CHUNK_BYTES))
  return { url: `https://photos.example/${photo.name}`, bytes }
})
queue.register('thumbnail:make', async (_thumb, ctx) => transfer(ctx, 1))
queue.register('photo:resize', async (photo, ctx) => {
  await transfer(ctx, 2)
  return { name: photo.name, bytes: Math.round(photo.bytes * 0.4) }
})
queue.register('photo:notify', async ({ name }, ctx) => {
  await transfer(ctx, 1)
  return `${name} is online at ${(ctx.previousResult as { url: string }).url}`
})
queue.register('album:progress', (_a, ctx) => {
  album.progressRuns++
  album.seen = ctx.batch
})
queue.register('album:settled', (_a, ctx) => {
  album.settled = ctx.batch
})

const startedAt = Date.now()
const panorama = photo('PANO_0001.jpg', false)
const before = await queue.counts()
const left = before.waiting + before.delayed + before.active + before.blocked
const doneBefore = before.succeeded + before.failed + before.cancelled
if (left > 0) {
  out.write(
    `${p.bold('Resuming')} the outbox in ${DB_PATH}: ${doneBefore} jobs finished before the interruption and will not run again; ` +
      `${left} are left.\n`,
  )
} else if (doneBefore > 0) {
  // The last outbox was finished: start a new one in the same file.
  await queue.prune(Date.now() + 1)
  out.write(`The outbox in ${DB_PATH} was finished; starting a new one.\n`)
}
await queue.start()
// Again on resume: an interruption may have come in the middle of it, and repeating it adds only what is missing.
await dispatchOutbox()
const chainId = (await queue.getJob(`resize:${panorama.name}`))?.chainId
const batchId = (await queue.getJob('upload:LIS_01.jpg'))?.batchId
if (chainId === undefined || batchId === undefined) throw new Error(`${DB_PATH} holds jobs of another program: remove it and start again`)

async function dispatchOutbox(): Promise<void> {
  const photos = Array.from({ length: PHOTOS }, (_, i) => photo(`IMG_${String(i + 1).padStart(4, '0')}.jpg`, (i + 1) % CORRUPT_EVERY === 0))
  // Caller-chosen ids make a dispatch safe to repeat, as an outbox that resends after a crash would.
  for (const ph of photos) await queue.dispatch(job('upload:photo', ph).withId(`upload:${ph.name}`))
  await queue.dispatchMany(
    photos.filter((ph) => ph.bytes > 0).slice(0, THUMBNAILS).map((ph) => job('thumbnail:make', { name: ph.name, size: 256 }).withId(`thumb:${ph.name}`)),
  )
  if (!(await queue.getJob(`resize:${panorama.name}`))) {
    await queue
      .chain(
        job('photo:resize', panorama).withId(`resize:${panorama.name}`),
        job('upload:photo', panorama).withId(`upload:${panorama.name}`),
        job('photo:notify', { name: panorama.name }).withId(`notify:${panorama.name}`),
      )
      .dispatch()
  }
  // A chain or a batch is written whole or not at all: it exists already, or none of it does.
  if (await queue.getJob('upload:LIS_01.jpg')) return
  const albumPhotos = Array.from({ length: ALBUM_SIZE }, (_, i) => photo(`LIS_${String(i + 1).padStart(2, '0')}.jpg`, i === 7))
  await queue
    .batch(...albumPhotos.map((ph) => job('upload:photo', ph).withId(`upload:${ph.name}`)))
    .name(album.name)
    // One corrupt photo should not stop the rest of the album from uploading.
    .allowFailures()
    // Callbacks are ordinary jobs: without a priority this one would wait behind the album's own
    // uploads, and coalescing would leave only a run or two.
    .onProgress(job('album:progress', { album: album.name }).priority(1))
    .onSettled(job('album:settled', { album: album.name }))
    .dispatch()
}

let interrupted = false
process.once('SIGINT', () => (interrupted = true))

const region = live ? new LiveRegion(out) : undefined
let nextPlainReport = startedAt
try {
  for (;;) {
    const counts = await queue.counts()
    const now = Date.now()
    const settled = counts.waiting + counts.delayed + counts.active + counts.blocked === 0
    const snapshot: Snapshot = {
      counts,
      elapsedMs: now - startedAt,
      rate: tally.rate(now),
      inFlight: tally.inFlight,
      recent: tally.recent,
      startedAt,
      notes: [albumNote()],
    }
    if (region) region.draw(statusBlock(snapshot, p))
    else if (now >= nextPlainReport || settled) {
      out.write(`${statusLine(snapshot)}\n`)
      nextPlainReport += PLAIN_REPORT_MS
    }
    if (settled || interrupted) break
    await sleep(FRAME_MS)
  }
} finally {
  region?.close()
}

await queue.stop()
tally.stop()
const wallMs = Date.now() - startedAt
// Read after stop: attempts still running when Ctrl-C came have finished by now.
const counts = await queue.counts()
const chain = await queue.findChain(chainId)
const batch = await queue.findBatch(batchId)

out.write('\n')
for (const line of summaryTable(tally.byType, p)) out.write(`${line}\n`)
out.write('\n')
out.write(`${chainNote(chain)}\n`)
out.write(`${albumNote(batch)}\n`)
const finished = counts.succeeded + counts.failed + counts.cancelled - doneBefore
out.write(`${p.bold(`${finished} jobs in ${(wallMs / 1000).toFixed(2)} s: ${(finished / (wallMs / 1000)).toFixed(0)} jobs/s`)}\n`)
if (doneBefore > 0 && left > 0) out.write(`${doneBefore} more had finished before the interruption; none of them ran again.\n`)
// Every number above came from events; the store is the truth, so say so if they disagree.
const heard = [...tally.byType.values()].reduce((n, t) => n + t.succeeded + t.failed, 0)
if (left === 0 && heard !== counts.succeeded + counts.failed) {
  out.write(p.red(`events reported ${heard} finished jobs but the store counts ${counts.succeeded + counts.failed}\n`))
}
const unfinished = counts.waiting + counts.delayed + counts.active + counts.blocked
if (interrupted) {
  out.write(p.yellow(`interrupted: ${unfinished} jobs are left in ${DB_PATH}; run the demo again to finish them\n`))
  process.exitCode = 130
}
await queue.close()

function albumNote(final?: BatchState): string {
  const b = final ?? album.settled ?? album.seen
  const head = `${p.cyan('batch')} "${album.name}"`
  if (!b) return `${head}: ${ALBUM_SIZE} uploads, waiting for the first onProgress`
  const state = final ? `${b.state} · ` : ''
  const callbacks = `onProgress ran ${album.progressRuns}×, onSettled ${album.settled ? 'ran' : 'pending'}`
  return `${head}: ${state}${b.succeeded + b.failed + b.cancelled}/${b.total} done (${b.failed} failed) · ${callbacks}`
}

function chainNote(c: ChainState): string {
  const steps = c.steps.map((s) => (s.state === 'succeeded' ? s.type : `${s.type} (${s.state})`)).join(' → ')
  return `${p.cyan('chain')} ${panorama.name}: ${c.state} · ${steps}`
}
