/**
 * `requestBackgroundSync`: asks the browser to wake this origin's service worker (and its
 * `serviceWorkerHost`) once it is online, even after every tab has closed.
 *
 * @module
 */
import { checkTag } from './service-worker.js'

interface SyncManagerLike {
  register(tag: string): Promise<void>
}

/**
 * Registers a Background Sync of `tag` on the service worker registration of this page.
 * Resolves true once registered; false where that cannot be: no service worker API (an
 * insecure page, Node), no registration for this page, a registration without `sync` (Firefox,
 * Safari), a service worker that does not activate within ACTIVATE_WAIT_MS (its install failed,
 * or never finishes), or a sync the browser refuses (the user turned background sync off).
 * Then the page's own engine runs the jobs, as without a service worker. It never waits for a
 * registration that does not exist.
 * @example
 * await queue.dispatch(job('photo:upload', { name }))
 * await requestBackgroundSync({ tag: 'outbox' })   // the service worker's serviceWorkerHost tag
 */
export async function requestBackgroundSync(o: { tag?: string } = {}): Promise<boolean> {
  const tag = checkTag(o.tag)
  const container = (globalThis as { navigator?: { serviceWorker?: Partial<ServiceWorkerContainer> } }).navigator?.serviceWorker
  // Not `container.ready`: it stays pending for as long as nothing is registered.
  if (typeof container?.getRegistration !== 'function') return false
  let registration: (ServiceWorkerRegistration & { sync?: Partial<SyncManagerLike> }) | undefined
  try {
    registration = await container.getRegistration()
  } catch {
    return false
  }
  const sync = registration?.sync
  if (!registration || typeof sync?.register !== 'function') return false
  // A sync can only be registered once the registration has an active worker.
  if (!(await activated(registration))) return false
  try {
    await sync.register(tag)
    return true
  } catch {
    return false
  }
}

/**
 * How long `requestBackgroundSync` waits for a service worker being installed to activate: one
 * whose install never finishes (an `install` handler whose promise never settles) would hold it
 * for ever.
 */
export const ACTIVATE_WAIT_MS = 5_000

/**
 * Whether `r` has an active worker, waiting for one being installed until it activates, fails,
 * or ACTIVATE_WAIT_MS has passed.
 */
function activated(r: ServiceWorkerRegistration): Promise<boolean> {
  if (r.active) return Promise.resolve(true)
  const w = r.installing ?? r.waiting
  if (!w) return Promise.resolve(false)
  return new Promise((resolve) => {
    const settle = (ok: boolean): void => {
      clearTimeout(timer)
      w.removeEventListener('statechange', check)
      resolve(ok)
    }
    const check = (): void => {
      if (w.state === 'activated' || w.state === 'redundant') settle(w.state === 'activated')
    }
    const timer = setTimeout(() => settle(false), ACTIVATE_WAIT_MS)
    w.addEventListener('statechange', check)
    check()
  })
}
