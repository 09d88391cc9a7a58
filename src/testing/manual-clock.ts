/**
 * A clock that moves only when told: tests advance time by hand instead of faking the global
 * timers.
 *
 * @module
 */
import type { Clock } from '../core/types.js'

interface Timer {
  id: number
  at: number
  fn: () => void
}

export class ManualClock implements Clock {
  #now: number
  #nextId = 1
  #timers: Timer[] = []

  constructor(start = 0) {
    this.#now = start
  }

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const t: Timer = { id: this.#nextId++, at: this.#now + Math.max(0, ms), fn }
    this.#timers.push(t)
    return t.id
  }

  clearTimeout(handle: unknown): void {
    this.#timers = this.#timers.filter((t) => t.id !== handle)
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.length
  }

  /** When the next timer fires, if any. */
  nextAt(): number | undefined {
    let min: number | undefined
    for (const t of this.#timers) if (min === undefined || t.at < min) min = t.at
    return min
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in time order,
   * with the clock set to each timer's time as it fires.
   */
  advance(ms: number): void {
    const end = this.#now + ms
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0]
      if (!due) break
      this.#timers = this.#timers.filter((t) => t !== due)
      this.#now = Math.max(this.#now, due.at)
      due.fn()
    }
    this.#now = end
  }
}
