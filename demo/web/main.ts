/**
 * The demo page: a photo outbox. Photos become `'http'` jobs (`request()` from ferry/http),
 * one album batch per add, whose settled callback posts a summary. The engine runs in a
 * dedicated worker (worker.ts):
 *
 * - on IndexedDB, every tab starts its own worker on the one database; leases keep each job to
 *   one engine, and an engine's Web Lock tells the others when its tab is gone;
 * - on OPFS SQLite only one connection may open the file, so the tabs elect one host with
 *   `shareQueue`: the host tab's worker runs the engine, the other tabs are its clients, and
 *   when the host tab closes another takes over.
 */
import { nanoid } from 'nanoid'
import { type Counts, type JobState, type QueueEvent } from '../../src/index.js'
import { defineDashboard } from '../../src/dashboard/index.js'
import { request, type HttpJobs } from '../../src/http/index.js'
import { connectQueue, shareQueue, type QueueClient, type SharedQueue } from '../../src/workers/index.js'
import { samplePhotos, type Photo } from './samples.js'
import { ServerPanel } from './server-panel.js'
import { NETWORK_CHANNEL, isNetworkMessage, type NetworkMessage, type StoreKind } from './shared.js'
import type { Received, ServerSettings } from './server.js'

const STORE_KEY = 'ferry-demo:store'
const NETWORK_KEY = 'ferry-demo:network'
const ALBUM_KEY = 'ferry-demo:albums'
const SAMPLES = 20
const POLL_MS = 1000
/**
 * The largest photo the page takes. A job keeps its body as base64 text in the store: a 30 MB
 * photo took the OPFS SQLite store some 40 s to add, and its upload had not started two minutes
 * later, so the page refuses what it cannot send in reasonable time.
 */
const MAX_PHOTO_BYTES = 10 * 1024 * 1024
/** Jobs that may still send something. */
const OPEN: JobState[] = ['waiting', 'active', 'delayed', 'blocked']

const $ = <E extends HTMLElement = HTMLElement>(selector: string): E => {
  const el = document.querySelector<E>(selector)
  if (!el) throw new Error(`the page has no ${selector}`)
  return el
}

const main = $('main')
const storeKind: StoreKind = localStorage.getItem(STORE_KEY) === 'opfs' ? 'opfs' : 'idb'
main.dataset['store'] = storeKind

// ---- the queue ----

// The worker's `name` tells it which store to open. Literal options: Vite bundles workers it can read.
const client: QueueClient<HttpJobs> | SharedQueue<HttpJobs> =
  storeKind === 'opfs'
    ? shareQueue<HttpJobs>({
        name: 'ferry-demo',
        worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'opfs' }),
      })
    : connectQueue<HttpJobs>(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'idb' }))

// ---- the network switch, one for every tab and worker ----

const network = $<HTMLInputElement>('#network')
const networkChannel = new BroadcastChannel(NETWORK_CHANNEL)
const switchOn = (): boolean => localStorage.getItem(NETWORK_KEY) !== 'off'

async function postSettings(change: Partial<ServerSettings>): Promise<void> {
  const res = await fetch('/api/settings', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(change) })
  if (!res.ok) throw new Error(`the server refused the settings: ${res.status}`)
}

function tellNetwork(): void {
  networkChannel.postMessage({ t: 'state', on: switchOn() } satisfies NetworkMessage)
}

network.checked = switchOn()
network.addEventListener('change', () => {
  localStorage.setItem(NETWORK_KEY, network.checked ? 'on' : 'off')
  tellNetwork()
  void postSettings({ online: network.checked }).catch(report)
})
networkChannel.onmessage = (m: MessageEvent<unknown>) => {
  if (!isNetworkMessage(m.data)) return
  // A worker that just started asks; another tab flipped the switch.
  if (m.data.t === 'ask') tellNetwork()
  else network.checked = m.data.on
}
tellNetwork()

// ---- the server's dials ----

let settingsChanged = 0
function dial(input: HTMLInputElement, out: HTMLOutputElement, key: 'failureRate' | 'latencyMs', show: (v: number) => string): (v: number) => void {
  const set = (v: number): void => {
    input.value = String(v)
    out.textContent = show(v)
  }
  input.addEventListener('input', () => (out.textContent = show(Number(input.value))))
  input.addEventListener('change', () => {
    settingsChanged++
    void postSettings({ [key]: Number(input.value) }).catch(report)
  })
  return (v) => {
    // The server's value, unless the user is moving the dial.
    if (document.activeElement !== input) set(v)
  }
}
const showFailureRate = dial($('#failure-rate'), $('#failure-rate-value'), 'failureRate', (v) => `${Math.round(v * 100)}%`)
const showLatency = dial($('#latency'), $('#latency-value'), 'latencyMs', (v) => `${v} ms`)

// ---- the store switch: kept, then applied by reloading ----

for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="store"]')) {
  radio.checked = radio.value === storeKind
  radio.addEventListener('change', () => {
    if (!radio.checked) return
    localStorage.setItem(STORE_KEY, radio.value)
    location.reload()
  })
}
// Another tab chose the other store: follow it, so that every tab shows the same outbox.
addEventListener('storage', (e) => {
  if (e.key === STORE_KEY && (e.newValue === 'opfs' ? 'opfs' : 'idb') !== storeKind) location.reload()
})

// ---- adding photos ----

const added = $('#added')
let addedCount = 0

/** One album: a batch of uploads, and a summary sent when it has settled. */
async function addAlbum(photos: Photo[], name: string): Promise<void> {
  if (photos.length === 0) return
  const albumId = `album-${nanoid(10)}`
  const uploads = photos.map((p) => {
    const id = `photo-${nanoid(10)}`
    return request({ url: `/api/photos/${id}`, method: 'PUT', body: p.blob, headers: { 'x-photo-name': encodeURIComponent(p.name) } }).withId(id)
  })
  // The worker fills in the batch's counts when the summary is sent.
  const summary = request({ url: `/api/albums/${albumId}`, method: 'POST', body: { album: name, photos: photos.length } }).withId(`${albumId}-summary`)
  await client
    .batch(...uploads)
    .withId(albumId)
    .name(name)
    .allowFailures()
    .onSettled(summary)
    .dispatch()
  addedCount += photos.length
  added.dataset['count'] = String(addedCount)
  added.textContent = `${addedCount} photos added in this tab`
  void refresh()
}

/** Albums are numbered across tabs and reloads (localStorage is the origin's). */
function nextAlbum(): number {
  const n = Number(localStorage.getItem(ALBUM_KEY) ?? 0) + 1
  localStorage.setItem(ALBUM_KEY, String(n))
  return n
}

const addSamples = $<HTMLButtonElement>('#add-samples')
addSamples.addEventListener('click', () => {
  addSamples.disabled = true
  const n = nextAlbum()
  samplePhotos(SAMPLES, `sample-${n}`)
    .then((photos) => addAlbum(photos, `album ${n}`))
    .catch(report)
    .finally(() => (addSamples.disabled = false))
})
const files = $<HTMLInputElement>('#files')
files.addEventListener('change', () => {
  const all = [...(files.files ?? [])]
  files.value = ''
  const tooBig = all.filter((f) => f.size > MAX_PHOTO_BYTES)
  if (tooBig.length > 0) {
    const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`
    report(new RangeError(`${tooBig.map((f) => `${f.name} (${mb(f.size)})`).join(', ')} not added: this demo takes photos of up to ${mb(MAX_PHOTO_BYTES)}`))
  }
  const picked = all.filter((f) => f.size <= MAX_PHOTO_BYTES).map((f) => ({ name: f.name, blob: f }))
  addAlbum(picked, `album ${nextAlbum()}`).catch(report)
})

// ---- clear ----

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * Cancels every open job (a running upload is aborted) and waits until none is left: an upload
 * ends, and a cancelled album's batch settles and releases its summary, which is cancelled in
 * turn. Only then are the finished jobs deleted and the server cleared, so that nothing the
 * outbox held arrives after it.
 */
async function clearAll(): Promise<void> {
  const asked = new Set<string>()
  for (;;) {
    const open = await client.listJobs({ state: OPEN, limit: 500 })
    if (open.length === 0) break
    for (const j of open) {
      if (asked.has(j.id) && j.state === 'active') continue
      asked.add(j.id)
      await client.cancel(j.id)
    }
    if (open.some((j) => j.state === 'active')) await sleep(100)
  }
  await client.prune(Date.now() + 1)
  const res = await fetch('/api/photos', { method: 'DELETE' })
  if (!res.ok) throw new Error(`the server refused to clear: ${res.status}`)
}

const clear = $<HTMLButtonElement>('#clear')
let clears = 0
clear.addEventListener('click', () => {
  clear.disabled = true
  clearAll()
    .then(refresh)
    .catch(report)
    .finally(() => {
      clear.disabled = false
      clear.dataset['cleared'] = String(++clears)
    })
})

// ---- what the page shows ----

const engine = $('#engine')
const countsEl = $('#counts')
const STATES: (keyof Counts)[] = ['waiting', 'active', 'delayed', 'blocked', 'succeeded', 'failed', 'cancelled']

/** Set when the engine could not start: the page then says why, and stays so. */
let startError: unknown

function showEngine(): void {
  if (startError !== undefined) return
  const online = client.online
  engine.dataset['online'] = String(online)
  let where = 'in this tab’s worker'
  if ('isHost' in client) where = client.isHost ? 'hosted by this tab’s worker' : 'hosted by another tab'
  engine.dataset['host'] = 'isHost' in client ? String(client.isHost) : 'true'
  engine.textContent = `${online ? 'Engine online' : 'Engine offline: uploads wait'} (${storeKind === 'opfs' ? 'OPFS SQLite' : 'IndexedDB'}, ${where})`
}

function showCounts(c: Counts): void {
  for (const s of STATES) countsEl.dataset[s] = String(c[s])
  countsEl.textContent = STATES.filter((s) => c[s] > 0 || s === 'waiting' || s === 'succeeded')
    .map((s) => `${c[s]} ${s}`)
    .join(' · ')
}

// Importing the dashboard defines it; the call says so to a bundler that drops unused imports.
defineDashboard()
// The dashboard reads the same queue through the client: the jobs, their states and errors,
// the album batches, and replay / cancel / pause.
const dashboard = document.createElement('ferry-dashboard')
dashboard.queue = client
$('#dashboard-slot').replaceWith(dashboard)

const panel = new ServerPanel($('#received'), $('#albums'), $('#server-count'))

async function refresh(): Promise<void> {
  showEngine()
  showCounts(await client.counts())
}

async function pollServer(): Promise<void> {
  const asOf = settingsChanged
  const res = await fetch('/api/photos')
  if (!res.ok) return
  const r = (await res.json()) as Received
  panel.render(r)
  // A change made while this was in flight is newer than what it read.
  if (asOf === settingsChanged) {
    showFailureRate(r.settings.failureRate)
    showLatency(r.settings.latencyMs)
  }
}

// Events come from this tab's engine (or the host's); other tabs' engines on IndexedDB are
// seen by polling. Bursts of events are drawn once.
let pending: ReturnType<typeof setTimeout> | undefined
client.events.subscribe((e: QueueEvent) => {
  if (e.kind === 'queue:online' || e.kind === 'queue:offline') showEngine()
  pending ??= setTimeout(() => {
    pending = undefined
    refresh().catch(report)
  }, 100)
})

function report(err: unknown): void {
  console.error(err)
  const box = document.createElement('p')
  box.className = 'error'
  box.textContent = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  main.prepend(box)
  setTimeout(() => box.remove(), 8000)
}

async function loop(): Promise<void> {
  await Promise.all([refresh(), pollServer()]).catch(report)
  setTimeout(() => void loop(), POLL_MS)
}

/** The engine did not start (its store would not open): nothing here can work, so say why. */
function showStartError(err: unknown): void {
  startError = err
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
  engine.dataset['online'] = 'false'
  engine.dataset['failed'] = 'true'
  engine.textContent = `The engine failed to start (${storeKind === 'opfs' ? 'OPFS SQLite' : 'IndexedDB'}): ${message}`
  for (const b of document.querySelectorAll<HTMLButtonElement | HTMLInputElement>('#add-samples, #files, #clear')) b.disabled = true
}

// The server's network follows this tab's switch (tabs share it: localStorage and the channel).
await postSettings({ online: switchOn() }).catch(report)
try {
  await refresh()
  void loop()
} catch (err) {
  console.error(err)
  showStartError(err)
}
main.dataset['ready'] = 'true'
