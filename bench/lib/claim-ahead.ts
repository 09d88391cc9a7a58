/**
 * The processing loop of a raw ceiling with claim-ahead: the form an engine takes when one
 * transaction carries many jobs. Each turn is one transaction that settles every job finished
 * since the last turn and leases enough that up to `ahead` are held (running or buffered);
 * c runners take jobs from that buffer. A turn runs when the buffer falls below c (the runners
 * are about to starve) while the queue had more, or when everything leased has run and waits
 * to be settled. So at concurrency 8 with 64 ahead, one transaction settles and leases about
 * 64 jobs, where the plain ceiling's turn settles and leases 8.
 *
 * @module
 */
import type { Handler } from './adapter.js'

/** Jobs leased ahead of the running ones, per turn at most. */
export const AHEAD = 64

export interface ClaimAheadOptions<J> {
  concurrency: number
  ahead: number
  /** One transaction: marks `settle` done and leases up to `want` more (none when 0). */
  turn(settle: J[], want: number): J[] | Promise<J[]>
}

export interface ClaimAheadLoop {
  start(handler: Handler): void
  /** Runs what is leased, settles it, and resolves when the last turn has committed. */
  stop(): Promise<void>
  /** A job was dispatched: the queue may have more again. */
  wake(): void
}

export function claimAheadLoop<J>(o: ClaimAheadOptions<J>): ClaimAheadLoop {
  let handler: Handler = () => undefined
  let stopped = true
  let drained = false
  let loop: Promise<void> = Promise.resolve()
  let signal: (() => void) | undefined
  const buffer: J[] = []
  let finished: J[] = []
  let running = 0

  const poke = () => {
    const s = signal
    signal = undefined
    s?.()
  }
  const pump = () => {
    while (running < o.concurrency && buffer.length > 0) {
      const j = buffer.shift() as J
      running++
      // Each job runs after an await, as a real handler does.
      void Promise.resolve().then(() => {
        handler()
        finished.push(j)
        running--
        pump()
        poke()
      })
    }
  }
  const settledAll = () => running === 0 && buffer.length === 0
  const needTurn = () => (finished.length > 0 && settledAll()) || (!stopped && !drained && buffer.length < o.concurrency)
  const work = async () => {
    for (;;) {
      while (!needTurn()) {
        if (stopped && settledAll() && finished.length === 0) return
        await new Promise<void>((resolve) => (signal = resolve))
      }
      const settle = finished
      finished = []
      const want = stopped ? 0 : Math.max(0, o.ahead - buffer.length - running)
      const claimed = await o.turn(settle, want)
      if (claimed.length < want) drained = true
      buffer.push(...claimed)
      pump()
    }
  }
  return {
    start: (h) => {
      handler = h
      stopped = false
      drained = false
      loop = work()
    },
    stop: async () => {
      stopped = true
      poke()
      await loop
    },
    wake: () => {
      drained = false
      poke()
    },
  }
}
