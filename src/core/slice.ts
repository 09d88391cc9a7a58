/**
 * Over a store whose calls complete as microtasks (memory, SQLite WASM), ready jobs would keep
 * the engine's loop busy without ever letting timers, I/O or rendering run. A platform timer
 * (not the queue's clock, which may be a test's) marks each turn of the host's event loop; a
 * slice of work that has run past `SLICE_MS` without one waits for it.
 *
 * @module
 */

const SLICE_MS = 8

export class Slice {
  #start = 0
  #marked = false

  /** Resolves at once, or after a turn of the host's event loop when the slice is used up. */
  async breathe(): Promise<void> {
    const now = Date.now()
    if (!this.#marked) {
      this.#marked = true
      this.#start = now
      setTimeout(() => (this.#marked = false), 0)
    } else if (now - this.#start > SLICE_MS) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0))
    }
  }
}
