/**
 * `createTestQueue()`: the real engine on the memory store with a manual clock. Time moves only
 * when the test says, so delays, retries with backoff, timeouts, chains, batches and schedules
 * run deterministically and without real waiting.
 *
 * @module
 */
import { createQueue, engineActivity, type Queue, type QueueOptions } from '../core/queue.js'
import { memoryStore } from '../core/memory-store.js'
import type { JobMap } from '../core/types.js'
import { ManualClock } from './manual-clock.js'

export interface TestQueue<J extends JobMap = JobMap> extends Queue<J> {
  /** The queue's clock. Starts at `startAt` (default: the real time when the queue was made). */
  readonly clock: ManualClock
  /**
   * Moves time forward by `ms`, stopping at every timer on the way (a delayed job coming due, a
   * retry, a timeout, a schedule) and running what became due before going on.
   */
  advance(ms: number): Promise<void>
  /**
   * Resolves when nothing is left to run at the current time: every job that is ready has run
   * and settled. Handlers that wait on real time or real I/O are not waited for beyond a
   * moment; jobs due later wait for `advance`.
   */
  runUntilIdle(): Promise<void>
}

export interface TestQueueOptions extends Omit<QueueOptions, 'clock'> {
  /** Where the manual clock starts. @default Date.now() */
  startAt?: number
}

/** One turn of the host's event loop: everything queued as microtasks has run. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/**
 * A started queue on the memory store with a manual clock.
 * @example
 * const q = createTestQueue<Jobs>()
 * q.register('email:send', send)
 * await q.dispatch(job('email:send', { to }).delay(60_000))
 * await q.advance(60_000)
 * expect(send).toHaveBeenCalledOnce()
 */
export function createTestQueue<J extends JobMap = JobMap>(options: TestQueueOptions = {}): TestQueue<J> {
  const { startAt, ...rest } = options
  const clock = new ManualClock(startAt ?? Date.now())
  const queue = createQueue<J>({ store: memoryStore(), ...rest, clock })
  let started: Promise<void> | undefined
  const start = (): Promise<void> => (started ??= queue.start())

  const runUntilIdle = async (): Promise<void> => {
    await start()
    let last = -1
    // Quiet means: no turn pending or running, nothing to settle, and nothing moved during a
    // whole turn of the event loop (attempts still running wait on time or on the outside).
    for (let i = 0; i < 100_000; i++) {
      await macrotask()
      const a = engineActivity(queue)
      if (!a.busy && a.settling === 0 && a.progress === last) return
      last = a.progress
    }
    throw new Error('runUntilIdle: the queue never went quiet')
  }

  const advance = async (ms: number): Promise<void> => {
    await runUntilIdle()
    const end = clock.now() + ms
    for (;;) {
      const next = clock.nextAt()
      if (next === undefined || next > end) break
      clock.advance(Math.max(0, next - clock.now()))
      await runUntilIdle()
    }
    clock.advance(end - clock.now())
    await runUntilIdle()
  }

  const extras: Record<string | symbol, unknown> = { clock, advance, runUntilIdle, start }
  // The queue's methods use its private fields, so they are called on the queue itself.
  return new Proxy(queue, {
    get(target, prop) {
      if (prop in extras) return extras[prop]
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  }) as TestQueue<J>
}
