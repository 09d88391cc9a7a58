/**
 * What tells engines on a store which engines are alive (DESIGN §8, "No waiting out a dead
 * engine's lease").
 *
 * An engine holds its owner id for its whole life; another engine that finds a job leased by
 * an owner no longer alive takes it over at once instead of waiting for the lease to run out.
 * Where liveness cannot be seen, the lease expiry is the only way a dead engine's job comes back.
 *
 * - `webLocksLiveness()`: a Web Lock per engine, which the browser releases when the engine's
 *   context dies (a tab closed, a worker terminated, the browser quit). For stores that tabs
 *   and workers of one origin share (IndexedDB).
 * - `exclusiveLiveness()`: for a store only this JavaScript context can reach (the Node file
 *   store behind its lock file, OPFS SQLite behind its exclusive handles, the memory store):
 *   the engines alive are exactly those holding through this object. Any other owner found on
 *   the store belonged to a context that has ended.
 *
 * Never give Web Locks liveness to a store that other processes share: their locks are not
 * seen, so their engines would all look dead.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.js'

export interface Liveness {
  /**
   * Proves `owner` alive until the returned function is called; resolves once the proof holds.
   * `onLost` is called if the proof is taken away while held (another script stole the Web
   * Lock): from then on other engines see this one as dead.
   */
  hold(owner: string, onLost?: () => void): Promise<() => void>
  /** The owners alive now, as far as this platform can tell. */
  alive(): Promise<string[]>
  /**
   * Optional: calls `listener` soon after an engine seen alive (by an earlier `alive()`) dies,
   * so that its jobs can be taken over without waiting for the next claim. Returns the function
   * that stops it.
   */
  watch?(listener: () => void): () => void
  /**
   * Optional: every engine that can reach the store holds through this object, so an owner not
   * alive is dead whenever its lease began, whatever the clocks say. Claims then name no time.
   */
  readonly exclusive?: boolean
}

/** The part of the Web Locks API (`navigator.locks`) liveness uses. */
export interface WebLocks {
  request(name: string, options: { mode?: 'exclusive' | 'shared'; signal?: AbortSignal }, callback: (lock: unknown) => unknown): Promise<unknown>
  query(): Promise<{ held?: { name?: string; mode?: string }[] }>
}

/**
 * Every engine lock's name starts with this. Tabs running different versions of an application
 * share one database, so this name is a protocol between versions: an engine whose lock an
 * older or newer version cannot find looks dead to it.
 */
export const ENGINE_LOCK_PREFIX = 'ferry:engine:'

function checkOwner(owner: unknown): string {
  if (typeof owner !== 'string' || owner.length === 0) throw new InvalidArgumentError(`an owner must be a non-empty string, got ${String(owner)}`)
  return owner
}

/** `navigator.locks` where this context has it. Read when asked, never at import time. */
export function platformLocks(): WebLocks | undefined {
  const locks = (globalThis as { navigator?: { locks?: Partial<WebLocks> } }).navigator?.locks
  return typeof locks?.request === 'function' && typeof locks.query === 'function' ? (locks as WebLocks) : undefined
}

/**
 * Liveness through Web Locks: each engine holds an exclusive lock named
 * `ferry:engine:<owner>` for its life, which the browser releases when its context dies.
 * `alive()` lists the engine locks held in the origin. `watch()` waits, for every other engine
 * seen alive, with a shared request on that engine's lock: it is granted when the engine dies,
 * released at once, and the listener is called. Shared, so that a watcher granted the lock for
 * that instant is never listed as the engine still alive.
 * @param locks @default navigator.locks
 * @throws InvalidArgumentError where there are no Web Locks
 */
export function webLocksLiveness(locks: WebLocks | undefined = platformLocks()): Liveness {
  if (typeof locks?.request !== 'function' || typeof locks.query !== 'function') {
    throw new InvalidArgumentError('webLocksLiveness needs Web Locks (navigator.locks): a browser window or worker')
  }
  const api = locks
  const mine = new Set<string>()
  const listeners = new Set<() => void>()
  /** Other engines seen alive: a pending request on each while anyone watches. */
  const seen = new Map<string, AbortController | undefined>()
  const follow = (owner: string): void => {
    if (listeners.size === 0 || seen.get(owner) !== undefined) return
    const ac = new AbortController()
    seen.set(owner, ac)
    api.request(ENGINE_LOCK_PREFIX + owner, { mode: 'shared', signal: ac.signal }, () => undefined).then(
      () => {
        // Granted: the engine released its lock, or its context is gone.
        if (seen.get(owner) !== ac) return
        seen.delete(owner)
        for (const l of [...listeners]) {
          try {
            l()
          } catch {
            // A listener's failure is its own.
          }
        }
      },
      () => undefined, // aborted: nobody watches any more
    )
  }
  return {
    async hold(owner, onLost) {
      const name = ENGINE_LOCK_PREFIX + checkOwner(owner)
      if (mine.has(owner)) throw new InvalidArgumentError(`owner ${owner} is held already`)
      mine.add(owner)
      let granted = false
      let released = false
      return new Promise((resolve, reject) => {
        api
          .request(name, { mode: 'exclusive' }, () =>
            new Promise<void>((release) => {
              granted = true
              resolve(() => {
                released = true
                mine.delete(owner)
                release()
              })
            }),
          )
          .catch((err: unknown) => {
            mine.delete(owner)
            // Rejected after it was granted: the lock was stolen from under the engine.
            if (!granted) reject(err)
            else if (!released) onLost?.()
          })
      })
    },
    async alive() {
      const { held = [] } = await api.query()
      const owners = new Set<string>()
      for (const l of held) {
        if (l.mode !== 'exclusive' || !l.name?.startsWith(ENGINE_LOCK_PREFIX)) continue
        const owner = l.name.slice(ENGINE_LOCK_PREFIX.length)
        owners.add(owner)
        if (!mine.has(owner)) {
          if (!seen.has(owner)) seen.set(owner, undefined)
          follow(owner)
        }
      }
      // Engines gone while nobody watched: nothing to wait for.
      for (const [owner, ac] of seen) if (ac === undefined && !owners.has(owner)) seen.delete(owner)
      return [...owners]
    },
    watch(listener) {
      const l = (): void => listener()
      listeners.add(l)
      for (const owner of seen.keys()) follow(owner)
      return () => {
        listeners.delete(l)
        if (listeners.size > 0) return
        for (const [owner, ac] of seen) {
          ac?.abort()
          seen.set(owner, undefined)
        }
      }
    },
  }
}

/**
 * Liveness for a store that only this JavaScript context can reach: the owners alive are
 * exactly those holding through this object, so a lease of any other owner was left by a
 * context that has ended (a killed process, a closed worker).
 */
export function exclusiveLiveness(): Liveness {
  const held = new Map<string, number>()
  return {
    async hold(owner) {
      checkOwner(owner)
      held.set(owner, (held.get(owner) ?? 0) + 1)
      let released = false
      return () => {
        if (released) return
        released = true
        const n = (held.get(owner) ?? 1) - 1
        if (n > 0) held.set(owner, n)
        else held.delete(owner)
      }
    },
    alive: async () => [...held.keys()],
    exclusive: true,
  }
}
