/**
 * When the next schedule or delayed job of an engine's queues falls due.
 *
 * Schedules fire and delayed jobs come due on time whether or not the engine can claim (slots
 * busy, queues paused, no handler), so the engine must know when to ask the store for that
 * tick without asking on every turn. It learns the time from the store's reply to a tick, and
 * keeps it up to date from the events it hears: a retry or a deferral tells when its job comes
 * due; any other change (a dispatch with a delay the event does not tell, a chain step, a new
 * schedule) may have brought it earlier, so the next turn asks again.
 *
 * @module
 */
import { MAX_TIMER_MS } from './clock.js'
import type { Clock, QueueEvent } from './types.js'

export class DueTimes {
  /** When the next schedule or delayed job falls due, if known. */
  #at: number | undefined
  #known = false
  /** Counts the changes after which `#at` is not known: a change may have brought it earlier. */
  #heard = 0
  /** Due times that events told while the store call in flight was running. */
  #toldDuringCall: number | undefined

  get at(): number | undefined {
    return this.#at
  }

  /** Whether a turn at `now` must ask the store for the tick. */
  needsTick(now: number): boolean {
    return !this.#known || (this.#at !== undefined && this.#at <= now)
  }

  /** Something changed in the store; `events`, when given, say what. */
  heard(events?: readonly QueueEvent[]): void {
    if (events && events.length > 0 && this.#note(events)) this.#toldDuringCall = earliest(this.#toldDuringCall, ...events.map(dueTime))
    else this.#forget()
  }

  /** A store call starts: returns a mark to give `learn` with its reply. */
  callStarts(): number {
    this.#toldDuringCall = undefined
    return this.#heard
  }

  /**
   * A store call returned: with the tick, the store said when the next one falls due
   * (`nextWakeAt`); without it, only the call's own writes (its events) can move that time.
   */
  learn(mark: number, ticked: boolean, nextWakeAt: number | undefined, events: readonly QueueEvent[]): void {
    if (ticked) {
      // A change committed elsewhere while the call ran may not be in what it saw.
      this.#at = earliest(nextWakeAt, this.#toldDuringCall)
      if (this.#heard === mark) this.#known = true
      return
    }
    if (!this.#note(events)) this.#known = false
  }

  #forget(): void {
    this.#known = false
    this.#heard++
  }

  /** Folds the due times events tell into `#at`; false if one may delay a job it does not say until when. */
  #note(events: readonly QueueEvent[]): boolean {
    let told = true
    for (const e of events) {
      const at = dueTime(e)
      if (at !== undefined) this.#at = earliest(this.#at, at)
      // A dispatched job, a callback or a chain step may wait for a delay the event does not tell.
      else if (e.kind === 'job:dispatched' || e.kind === 'chain:advanced') told = false
    }
    return told
  }
}

/** The engine's one wake-up timer: set for the earliest time asked, until it goes off or is cleared. */
export class WakeTimer {
  readonly #clock: Clock
  readonly #wake: () => void
  #timer: { at: number; handle: unknown } | undefined

  constructor(clock: Clock, wake: () => void) {
    this.#clock = clock
    this.#wake = wake
  }

  arm(at: number): void {
    if (this.#timer && this.#timer.at <= at) return
    this.clear()
    const delay = Math.min(Math.max(0, at - this.#clock.now()), MAX_TIMER_MS)
    const handle = this.#clock.setTimeout(() => {
      this.#timer = undefined
      this.#wake()
    }, delay)
    this.#timer = { at, handle }
  }

  clear(): void {
    if (this.#timer) this.#clock.clearTimeout(this.#timer.handle)
    this.#timer = undefined
  }
}

export function earliest(...times: (number | undefined)[]): number | undefined {
  let min: number | undefined
  for (const t of times) if (t !== undefined && (min === undefined || t < min)) min = t
  return min
}

/** When the job an event put back comes due. */
function dueTime(e: QueueEvent): number | undefined {
  return e.kind === 'job:retrying' ? e.retryAt : e.kind === 'job:deferred' ? e.runAt : undefined
}
