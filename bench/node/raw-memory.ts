/**
 * The memory ceiling: a plain Map and array doing what a queue must (store the job, take the
 * next one in order, run it, drop it) with nothing else, for comparison with the memory store.
 *
 * @module
 */
import type { Adapter, AdapterFactory, Handler } from '../lib/adapter.js'

interface Job {
  id: number
  payload: unknown
}

export const rawMemory: AdapterFactory = async ({ concurrency }) => {
  const jobs = new Map<number, Job>()
  const order: number[] = []
  let head = 0
  let handler: Handler | undefined
  let running = 0
  let stopped = true
  let idle: (() => void) | undefined

  // Async on purpose: a queue's API is, and each job runs after an await like a real handler.
  const pump = () => {
    while (!stopped && running < concurrency && head < order.length) {
      const id = order[head++] as number
      const job = jobs.get(id)
      jobs.delete(id)
      running++
      void Promise.resolve(job).then(() => {
        handler?.()
        running--
        if (running === 0 && idle) idle()
        pump()
      })
    }
  }
  const add = (i: number) => {
    jobs.set(i, { id: i, payload: { i } })
    order.push(i)
  }
  const adapter: Adapter = {
    dispatch: async (i) => {
      add(i)
      pump()
    },
    dispatchMany: async (n, offset) => {
      for (let k = 0; k < n; k++) add(offset + k)
      pump()
    },
    start: async (h) => {
      handler = h
      stopped = false
      pump()
    },
    stop: () => {
      stopped = true
      return running === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve))
    },
    close: async () => undefined,
  }
  return adapter
}
