/**
 * `createTestQueue()`: the real engine on the memory store with a manual clock. Time moves only
 * when the test says, so delays, retries with backoff, timeouts, chains, batches and schedules
 * run deterministically and without real waiting.
 *
 * @module
 */
import { InvalidArgumentError } from '../core/errors.js'
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
   * and settled, and handlers still running (awaiting real I/O or real timers) have finished.
   * A handler still running after `handlerWaitMs` of real time in which nothing else moved is
   * left running (it may be waiting for the manual clock) and its job stays `active`; later
   * calls do not wait for it again, only for handlers started since. Jobs due later wait for
   * `advance`.
   */
  runUntilIdle(): Promise<void>
}

export interface TestQueueOptions extends Omit<QueueOptions, 'clock'> {
  /** Where the manual clock starts. @default Date.now() */
  startAt?: number
  /**
   * How long, in real time, `runUntilIdle` (and so `advance`, at each stop) waits for handlers
   * that are still running. A handler that awaits the manual clock, or never settles, costs
   * this much once. Also the default `timeoutMs` of `stop` and `close`: then running handlers
   * are aborted and their jobs released.
   * @default 1000
   */
  handlerWaitMs?: number
}

/** One turn of the host's event loop: everything queued as microtasks has run. */
function macrotask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/**
 * A queue on the memory store with a manual clock, started as it is made: jobs run as soon as
 * they are dispatched and their handlers registered, so a test may wait on events or on
 * `job$` alone.
 * @example
 * const q = createTestQueue<Jobs>()
 * q.register('email:send', send)
 * await q.dispatch(job('email:send', { to }).delay(60_000))
 * await q.advance(60_000)
 * expect(send).toHaveBeenCalledOnce()
 */
export function createTestQueue<J extends JobMap = JobMap>(options: TestQueueOptions = {}): TestQueue<J> {
  const { startAt, handlerWaitMs = 1000, ...rest } = options
  if (!(handlerWaitMs >= 0)) throw new InvalidArgumentError(`handlerWaitMs must be >= 0, got ${handlerWaitMs}`)
  const clock = new ManualClock(startAt ?? Date.now())
  const queue = createQueue<J>({ store: memoryStore(), ...rest, clock })
  // A fresh queue is open, so starting cannot fail. A test that stops the queue starts it
  // again itself: nothing here restarts it behind the test's back.
  void queue.start()
  // The engine's count of handlers started when runUntilIdle last gave up on running handlers:
  // handlers it gave up on are not waited for again, new ones are (a job claimed ahead starts
  // later than its claim, so handler starts are counted by the engine, not by events).
  let gaveUpAt: number | undefined

  const runUntilIdle = async (): Promise<void> => {
    let last = -1
    let movedAt = performance.now()
    // Quiet means: no turn pending or running, nothing to settle, nothing moved during a whole
    // turn of the event loop, and no handler running (or the running ones were given up on).
    for (let i = 0; i < 100_000; i++) {
      await macrotask()
      const a = engineActivity(queue)
      if (a.progress !== last) {
        last = a.progress
        movedAt = performance.now()
        continue
      }
      if (a.busy || a.settling > 0) continue
      if (a.running === 0 || a.starts === gaveUpAt) return
      if (performance.now() - movedAt >= handlerWaitMs) {
        gaveUpAt = a.starts
        return
      }
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

  // A queue's stop timeout is real time, and a test's afterEach(() => q.close()) should not wait
  // 10 s for a handler that never settles: by default it waits as long as runUntilIdle does.
  const stop = (o?: { timeoutMs?: number }): Promise<void> => queue.stop({ timeoutMs: o?.timeoutMs ?? handlerWaitMs })
  const close = (o?: { timeoutMs?: number }): Promise<void> => queue.close({ timeoutMs: o?.timeoutMs ?? handlerWaitMs })

  const extras: Record<string | symbol, unknown> = { clock, advance, runUntilIdle, stop, close }
  // The queue's methods use its private fields, so they are called on the queue itself.
  return new Proxy(queue, {
    get(target, prop) {
      if (prop in extras) return extras[prop]
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  }) as TestQueue<J>
}
