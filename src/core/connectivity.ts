/**
 * What the engine knows of the network: whether it is online now, and when that changes.
 *
 * A job type registered with `network: 'online'` is claimed only while online; one of
 * `'online'` or `'offlineFirst'` whose attempt fails while offline is put back without spending
 * the attempt (DESIGN §8). `browserConnectivity()` reads `navigator.onLine` and its events in a
 * window, a dedicated worker or a service worker; elsewhere the engine counts as always online.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js'

export interface Connectivity {
  readonly online: boolean
  /**
   * Calls `listener` when the state may have changed (possibly with the same state again).
   * Returns the function that stops it.
   */
  subscribe(listener: (online: boolean) => void): () => void
}

/** How a job type meets the network. @default 'always' */
export type NetworkMode = 'always' | 'online' | 'offlineFirst'

export interface RegisterOptions {
  /**
   * `'online'`: claimed only while online; `'offlineFirst'`: runs offline too. Either way an
   * attempt that fails while offline goes back without spending the attempt (`job:deferred`).
   * `'always'` ignores the network. @default 'always'
   */
  network?: NetworkMode
}

const MODES: readonly NetworkMode[] = ['always', 'online', 'offlineFirst']

export function checkNetworkMode(mode: unknown): NetworkMode {
  if (mode === undefined) return 'always'
  if (!MODES.includes(mode as NetworkMode)) {
    throw new InvalidArgumentError(`network must be one of ${MODES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(mode) ?? typeof mode}`)
  }
  return mode as NetworkMode
}

interface NetworkScope {
  navigator?: { onLine?: unknown }
  addEventListener?: (type: string, listener: () => void) => void
  removeEventListener?: (type: string, listener: () => void) => void
}

const WORKER_POLL_MS = 500

function browserScope(): Required<NetworkScope> | undefined {
  const g = globalThis as NetworkScope
  if (typeof g.navigator?.onLine !== 'boolean' || typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function') {
    return undefined
  }
  return g as Required<NetworkScope>
}

/**
 * The browser's view: `navigator.onLine` and the `online` / `offline` events of the global
 * scope (a window, a dedicated worker or a service worker). In a worker, where Chromium may
 * change `navigator.onLine` without an event, it is also read twice a second while listened to.
 * @throws InvalidArgumentError where there is no such view (Node has none)
 */
export function browserConnectivity(): Connectivity {
  const scope = browserScope()
  if (!scope) throw new InvalidArgumentError('browserConnectivity needs navigator.onLine and online/offline events: a browser window or worker')
  return {
    get online() {
      return scope.navigator.onLine === true
    },
    subscribe(listener) {
      const tell = (online: boolean): void => listener(online)
      const on = (): void => tell(true)
      const off = (): void => tell(false)
      scope.addEventListener('online', on)
      scope.addEventListener('offline', off)
      // Chromium changes a worker's navigator.onLine without firing its events
      // (crbug.com/114475): a worker also tells what it reads there twice a second. Every
      // time, not only on a change it saw: a listener may have read a change in between.
      let poll: ReturnType<typeof setTimeout> | undefined
      let stopped = false
      const read = (): void => {
        tell(scope.navigator.onLine === true)
        if (!stopped) poll = setTimeout(read, WORKER_POLL_MS)
      }
      if (!('window' in globalThis)) poll = setTimeout(read, WORKER_POLL_MS)
      return () => {
        scope.removeEventListener('online', on)
        scope.removeEventListener('offline', off)
        stopped = true
        if (poll !== undefined) clearTimeout(poll)
      }
    },
  }
}

const alwaysOnline: Connectivity = { online: true, subscribe: () => () => undefined }

/** The browser's view where there is one, else always online. */
export function defaultConnectivity(): Connectivity {
  return browserScope() ? browserConnectivity() : alwaysOnline
}

export function checkConnectivity(c: unknown): Connectivity {
  const x = c as Partial<Connectivity> | undefined
  if (typeof x?.online !== 'boolean' || typeof x.subscribe !== 'function') {
    throw new InvalidArgumentError('connectivity must have a boolean `online` and a `subscribe(listener)` method')
  }
  return c as Connectivity
}
