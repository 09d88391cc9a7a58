/**
 * Everything the demo shows is derived from `queue.events`, the way an application would watch
 * its own background work: per-type outcomes and durations, throughput, the attempts in flight
 * and the last few notable events.
 */
import type { QueueEvent, Subscribable } from '../../src/index.js'

export interface TypeTally {
  succeeded: number
  failed: number
  /** Attempts that failed and were retried. */
  retried: number
  /** Duration of each job's last attempt, in ms. */
  durations: number[]
}

const NOTABLE_KINDS = [
  'job:retrying',
  'job:failed',
  'job:stalled',
  'lease:lost',
  'queue:error',
  'chain:completed',
  'chain:failed',
  'chain:cancelled',
  'batch:completed',
  'batch:failed',
  'batch:cancelled',
] as const

/** Events worth a line in the live log. */
export type Notable = QueueEvent & { kind: (typeof NOTABLE_KINDS)[number] }

const NOTABLE = new Set<QueueEvent['kind']>(NOTABLE_KINDS)

const isNotable = (e: QueueEvent): e is Notable => NOTABLE.has(e.kind)

const RATE_WINDOW_MS = 1000

export class Tally {
  readonly byType = new Map<string, TypeTally>()
  /** Progress in percent of the attempts running now, by job id. */
  readonly inFlight = new Map<string, number>()
  readonly recent: Notable[] = []
  readonly #startedAt = new Map<string, number>()
  readonly #finishTimes: number[] = []
  readonly #keep: number
  readonly #unsubscribe: () => void

  constructor(events: Subscribable<QueueEvent>, keepRecent = 5) {
    this.#keep = keepRecent
    this.#unsubscribe = events.subscribe((e) => this.#on(e))
  }

  /** Jobs finished per second over the last second. */
  rate(now: number): number {
    const from = now - RATE_WINDOW_MS
    while (this.#finishTimes.length > 0 && (this.#finishTimes[0] as number) < from) this.#finishTimes.shift()
    return this.#finishTimes.length / (RATE_WINDOW_MS / 1000)
  }

  stop(): void {
    this.#unsubscribe()
  }

  #on(e: QueueEvent): void {
    switch (e.kind) {
      case 'job:started':
        this.#startedAt.set(e.jobId, e.at)
        this.inFlight.set(e.jobId, 0)
        break
      case 'job:progress':
        if (typeof e.progress === 'number') this.inFlight.set(e.jobId, e.progress)
        break
      case 'job:retrying':
        this.#type(e.type).retried++
        this.inFlight.delete(e.jobId)
        break
      case 'job:succeeded':
      case 'job:failed': {
        const t = this.#type(e.type)
        t[e.kind === 'job:succeeded' ? 'succeeded' : 'failed']++
        const started = this.#startedAt.get(e.jobId)
        if (started !== undefined) t.durations.push(e.at - started)
        this.#startedAt.delete(e.jobId)
        this.inFlight.delete(e.jobId)
        this.#finishTimes.push(e.at)
        break
      }
    }
    if (isNotable(e)) {
      this.recent.push(e)
      if (this.recent.length > this.#keep) this.recent.shift()
    }
  }

  #type(type: string): TypeTally {
    let t = this.byType.get(type)
    if (!t) this.byType.set(type, (t = { succeeded: 0, failed: 0, retried: 0, durations: [] }))
    return t
  }
}
