import { createQueue, memoryStore, type JobMap, type Queue, type QueueEvent, type QueueOptions, type Store } from '../src/index.js'
import { ManualClock } from '../src/testing/manual-clock.js'

/** Lets every pending microtask and store call run: the engine never uses real timers here. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setTimeout(r, 0))
}

/** Advances the manual clock in steps, letting the engine react after each. */
export async function advance(clock: ManualClock, ms: number, step = ms): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done))
    await settle()
  }
}

export interface Harness<J extends JobMap> {
  queue: Queue<J>
  clock: ManualClock
  store: Store
  events: QueueEvent[]
  kinds(): string[]
}

/** A queue on a fresh memory store and a manual clock at t = 1,000,000, recording its events. */
export function harness<J extends JobMap = JobMap>(o: QueueOptions & { clock?: ManualClock } = {}): Harness<J> {
  const clock = o.clock ?? new ManualClock(1_000_000)
  const store = o.store ?? memoryStore()
  const queue = createQueue<J>({ ...o, clock, store })
  const events: QueueEvent[] = []
  queue.events.subscribe((e) => events.push(e))
  return { queue, clock, store, events, kinds: () => events.map((e) => e.kind) }
}

/** A promise with its resolve and reject exposed: a handler that finishes when the test says. */
export function deferred<T = unknown>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
