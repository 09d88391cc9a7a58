/**
 * The platform globals that `src/core` may use: the whitelist.
 *
 * Core is the engine every ferry runtime shares (browser tab, Web Worker, Node, Deno, Bun,
 * Electron), so it may touch only what all of them provide. `tsconfig.core.json` type-checks
 * `src/core` against lib ES2022 plus this file alone: no DOM lib and no `@types/node`. A use
 * of `document`, `window`, `indexedDB`, `process`, `Buffer` or an import of `node:*` fails to
 * compile there, and anything platform-specific has to come in through an interface that
 * the caller passes in (a `Store`, a `Clock`, ...).
 *
 * What is declared here is a subset of the Minimum Common Web Platform API (WinterTC,
 * formerly WinterCG; https://min-common-api.proposal.wintertc.org/), the globals present in
 * browsers, workers, Node, Deno and Bun alike, and only the part core needs. Each
 * declaration is narrower than (or equal to) the DOM and Node declarations, so code that
 * compiles here also compiles under the full `tsconfig.json`.
 *
 * To widen the whitelist, add a global here only if it is in the Minimum Common API and
 * present in every runtime ferry supports (Node >= 20, evergreen browsers). Left out on
 * purpose: `AbortSignal.any` (Node 20.3+), `console` (core reports through events, it does not
 * log), `crypto` (core gets ids from `nanoid`, whose types need nothing but Uint8Array).
 *
 * This file is not part of `tsconfig.json`, where the DOM and Node declarations apply.
 */

// ---- Timers and tasks ------------------------------------------------------------------

/** The handle is opaque: a number in browsers, a `Timeout` object in Node. */
declare function setTimeout(callback: () => void, ms?: number): unknown
declare function clearTimeout(handle: unknown): void
declare function queueMicrotask(callback: () => void): void

// ---- Structured clone ------------------------------------------------------------------

/** Deep copy with the structured clone algorithm (what IndexedDB and postMessage use). */
declare function structuredClone<T>(value: T): T

// ---- Cancellation ----------------------------------------------------------------------

/** Only what an `abort` listener may rely on. */
interface Event {
  readonly type: string
}

interface AbortSignalEventListenerOptions {
  once?: boolean
  passive?: boolean
  signal?: AbortSignal
}

interface AbortSignal {
  readonly aborted: boolean
  /** Whatever `abort(reason)` was given; a DOMException named `AbortError` if nothing. */
  readonly reason: unknown
  /** Throws `reason` if aborted. */
  throwIfAborted(): void
  addEventListener(
    type: 'abort',
    listener: (this: AbortSignal, event: Event) => void,
    options?: boolean | AbortSignalEventListenerOptions,
  ): void
  removeEventListener(
    type: 'abort',
    listener: (this: AbortSignal, event: Event) => void,
    options?: boolean | { capture?: boolean },
  ): void
}

declare var AbortSignal: {
  readonly prototype: AbortSignal
  /** A signal that is already aborted. */
  abort(reason?: unknown): AbortSignal
  /** A signal that aborts after `ms` with a DOMException named `TimeoutError`. */
  timeout(ms: number): AbortSignal
}

interface AbortController {
  readonly signal: AbortSignal
  abort(reason?: unknown): void
}

declare var AbortController: {
  readonly prototype: AbortController
  new (): AbortController
}
