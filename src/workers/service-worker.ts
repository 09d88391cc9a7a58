/**
 * `serviceWorkerHost`: the queue's engine in a service worker, so an outbox drains after the
 * last tab has closed. Pages dispatch into the same IndexedDB database and call
 * `requestBackgroundSync()`; the browser wakes the service worker with a `sync` event once it
 * is online, and the host runs the engine until nothing is ready (`queue.drain()`).
 *
 * A sync event fails, so the browser fires it again later, while its drain leaves work
 * unfinished that a later sync could finish: jobs waiting (on the network, say), jobs running
 * under another engine (a page that may close before they finish: its jobs are then taken over
 * by the next drain), and jobs delayed (a retry in backoff) that are due within DUE_SOON_MS.
 * A retry due within WAIT_DUE_MS is waited for inside the event and run. The last chance of a
 * sync never fails (the jobs stay in the store for the next sync or the next page).
 *
 * @module
 */
import { InvalidArgumentError, QueueError, serializeError } from '../core/errors.js'
import type { Queue } from '../core/queue.js'

export interface ServiceWorkerHostOptions {
  /**
   * The Background Sync tag this host answers, and the tag of the drain messages it takes.
   * Pages pass the same one to `requestBackgroundSync`. @default 'ferry'
   */
  tag?: string
}

/** The tag of `serviceWorkerHost` and `requestBackgroundSync` when none is given. */
export const DEFAULT_SYNC_TAG = 'ferry'

/**
 * What a page posts to the service worker to have it drain the queue now, e.g. where there is
 * no Background Sync: `navigator.serviceWorker.controller?.postMessage({ ferry: 'drain', tag })`.
 * With a `MessagePort` transferred along, the host answers on it once the drain is over:
 * `{ ok: true }` or `{ ok: false, error }` (the error in its plain form, see `serializeError`).
 */
export interface DrainMessage {
  ferry: 'drain'
  tag: string
}

export function checkTag(tag: unknown): string {
  if (tag === undefined) return DEFAULT_SYNC_TAG
  if (typeof tag !== 'string' || tag.length === 0) throw new InvalidArgumentError(`tag must be a non-empty string, got ${typeof tag === 'string' ? 'an empty string' : typeof tag}`)
  return tag
}

/** An error of this code fails a sync event whose drain left work unfinished (see the module). */
export const SYNC_INCOMPLETE = 'SYNC_INCOMPLETE'

interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void
}
interface SyncEventLike extends ExtendableEventLike {
  readonly tag: string
  readonly lastChance?: boolean
}
interface MessageEventLike extends ExtendableEventLike {
  readonly data: unknown
  readonly ports?: readonly MessagePort[]
}

/**
 * Hosts `queue` in this service worker: on every `sync` event of `tag`, and on every drain
 * message of `tag` from a page, runs `event.waitUntil(queue.drain())`. Call it at the top of
 * the service worker script (a browser takes event listeners only from the script's first
 * run); a queue that takes time to set up is given as a promise. The engine is not started:
 * it runs while an event asks it to, the browser keeping the service worker alive meanwhile.
 * @example
 * // sw.ts, registered with navigator.serviceWorker.register('/sw.js', { type: 'module' })
 * const queue = createQueue<Jobs>({ store: idbStore({ name: 'outbox' }) })
 * queue.register('photo:upload', uploadPhoto, { network: 'online' })
 * serviceWorkerHost(queue, { tag: 'outbox' })
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any job map may be hosted
export function serviceWorkerHost(queue: Queue<any> | Promise<Queue<any>>, o: ServiceWorkerHostOptions = {}): void {
  const tag = checkTag(o.tag)
  const g = globalThis as { ServiceWorkerGlobalScope?: abstract new () => EventTarget }
  if (typeof g.ServiceWorkerGlobalScope !== 'function' || !(globalThis instanceof g.ServiceWorkerGlobalScope)) {
    throw new InvalidArgumentError('serviceWorkerHost runs in a service worker: call it at the top of the service worker script')
  }
  hostIn(globalThis, queue, tag)
}

const navigatorOnLine = (): unknown => (globalThis as { navigator?: { onLine?: unknown } }).navigator?.onLine

/**
 * Offline as the engine says, or as `navigator.onLine` says now: Chromium fires no `online` /
 * `offline` events in workers (crbug.com/114475), so an engine's view there can be stale.
 */
const offline = (q: Queue): boolean => !q.online || navigatorOnLine() === false

/** How long a sync event waits for an engine that still thinks it is offline to learn otherwise. */
export const CATCH_UP_MS = 3_000

/**
 * A delayed job due within this time fails the sync, so a sync fires again for it (Chromium's
 * first retry comes five minutes after a failure); one due later (next week's) does not.
 */
export const DUE_SOON_MS = 5 * 60_000

/** A delayed job due within this time is waited for inside the sync event, then run. */
export const WAIT_DUE_MS = 30_000

/**
 * How long a sync event may wait for delayed jobs in all, well inside the time a browser gives
 * it (Chromium: three minutes).
 */
export const SYNC_WAIT_MS = 60_000

/** What a drain left unfinished: by state, and when the next delayed job is due. */
interface Left {
  waiting: number
  active: number
  soon: number
  next: number | undefined
}

/** The delayed jobs are read a page at a time, to find the one due first. */
const PAGE = 500

async function unfinished(q: Queue, now: number): Promise<Left> {
  const c = await q.counts()
  let soon = 0
  let next: number | undefined
  for (let offset = 0; offset < c.delayed; offset += PAGE) {
    const page = await q.listJobs({ state: 'delayed', limit: PAGE, offset })
    for (const j of page) {
      if (j.runAt <= now + DUE_SOON_MS) soon++
      if (next === undefined || j.runAt < next) next = j.runAt
    }
    if (page.length < PAGE) break
  }
  return { waiting: c.waiting, active: c.active, soon, next }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Waits until the engine says it is online, at most CATCH_UP_MS. In a service worker the
 * engine learns of the network by reading `navigator.onLine` from time to time (no events
 * there), and Chromium fires a sync the moment the connection returns: drained at once, the
 * jobs that need the network would not run, and the sync would fail for nothing.
 */
function catchUp(q: Queue): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      off()
      resolve()
    }
    const timer = setTimeout(done, CATCH_UP_MS)
    const off = q.events.subscribe((e) => {
      if (e.kind === 'queue:online') done()
    })
  })
}

const isDrainMessage = (data: unknown, tag: string): data is DrainMessage =>
  typeof data === 'object' && data !== null && (data as Partial<DrainMessage>).ferry === 'drain' && (data as Partial<DrainMessage>).tag === tag

/** The host's listeners on `scope`: a service worker's global scope. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any job map may be hosted
export function hostIn(scope: EventTarget, queue: Queue<any> | Promise<Queue<any>>, tag: string): void {
  const hosted = Promise.resolve(queue as Queue | Promise<Queue>)
  // A failed setup fails each event with its error instead of an unhandled rejection here.
  hosted.catch(() => undefined)

  // Drains run one after another. A request made while one waits to start joins it; one made
  // while a drain runs gets a drain of its own after it, so a job dispatched just before the
  // request is never left for a drain that had already looked.
  let tail: Promise<unknown> = Promise.resolve()
  let waiting: Promise<void> | undefined
  const drain = (): Promise<void> => {
    if (waiting) return waiting
    const next = tail.then(async () => {
      waiting = undefined
      await (await hosted).drain()
    })
    waiting = next
    tail = next.catch(() => undefined)
    return next
  }

  /**
   * What is left unfinished, read between drains: the active jobs then are another engine's
   * (a drain of this host would be running its own).
   */
  const check = (q: Queue): Promise<Left> => {
    const next = tail.then(() => unfinished(q, Date.now()))
    tail = next.catch(() => undefined)
    return next
  }

  const sync = async (lastChance: boolean): Promise<void> => {
    const q = await hosted
    // A browser fires sync once it is online; the engine may not know yet (see catchUp).
    if (!q.online && navigatorOnLine() === true) await catchUp(q)
    const until = Date.now() + SYNC_WAIT_MS
    let again = true
    for (;;) {
      await drain()
      if (lastChance) return
      const left = await check(q)
      if (offline(q)) {
        const n = left.waiting + left.soon
        // The browser fires a failed sync event again later, once it is online.
        if (n > 0) throw new QueueError(`${n} jobs wait for the network`, { code: SYNC_INCOMPLETE })
        return
      }
      const n = left.waiting + left.active + left.soon
      if (n === 0) return
      const now = Date.now()
      const due = left.next === undefined ? Infinity : left.next - now
      if (left.waiting > 0 && again) {
        // Dispatched after the drain last looked: one more drain runs them.
        again = false
        continue
      }
      if (left.waiting === 0 && left.active === 0 && due <= WAIT_DUE_MS && now + due < until) {
        // Only a retry due shortly is left: it is run in this event rather than in the next.
        await sleep(Math.max(due, 0))
        continue
      }
      const parts = [
        left.waiting > 0 ? `${left.waiting} waiting` : '',
        left.active > 0 ? `${left.active} running elsewhere` : '',
        left.soon > 0 ? `${left.soon} due within ${DUE_SOON_MS / 60_000} minutes` : '',
      ].filter(Boolean)
      throw new QueueError(`${n} jobs are not finished: ${parts.join(', ')}`, { code: SYNC_INCOMPLETE })
    }
  }

  scope.addEventListener('sync', (event) => {
    const e = event as SyncEventLike
    if (e.tag !== tag) return
    e.waitUntil(sync(e.lastChance === true))
  })
  scope.addEventListener('message', (event) => {
    const e = event as MessageEventLike
    if (!isDrainMessage(e.data, tag)) return
    const port = e.ports?.[0]
    const done = drain().then(
      () => port?.postMessage({ ok: true }),
      (err: unknown) => port?.postMessage({ ok: false, error: serializeError(err) }),
    )
    e.waitUntil(done)
  })
}
