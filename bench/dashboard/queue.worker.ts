/**
 * The worker of the dashboard benchmark: the engine on an IndexedDB store, served to the page
 * with `exposeQueue`. A port of its own (sent as the first message) takes the bench's
 * commands: load the store, then run at a paced rate.
 *
 * @module
 */
import { createQueue, job, UnrecoverableError } from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'
import { exposeQueue } from '../../src/workers/index.js'
import { RUN, seedPlan, seedTotal, TYPES, type SeedPlan } from './plan.js'
import type { Command, Reply, SeedResult } from './protocol.js'

interface Payload {
  i: number
  to: string
  fail?: boolean
}

const queue = createQueue({ store: idbStore({ name: 'ferry-dashboard-bench' }), concurrency: RUN.concurrency })
let paced = false
let next = 0

/** One slot every 1000 / perSecond ms across all runners: the rate of the measurement. */
async function pace(): Promise<void> {
  const t = performance.now()
  const at = Math.max(t, next)
  next = at + 1000 / RUN.perSecond
  if (at > t) await new Promise((resolve) => setTimeout(resolve, at - t))
}

for (const type of TYPES) {
  queue.register(type, async (payload) => {
    const p = payload as Payload
    if (paced) await pace()
    if (p.fail) throw new UnrecoverableError(`the server answered 422 for job ${p.i}`)
    return { ok: true, i: p.i }
  })
}
// Before anything is awaited: a worker drops the messages that reach it before it listens.
exposeQueue(queue)

let made = 0
const spec = (fail = false, delayMs = 0) => {
  const i = made++
  const s = job(TYPES[i % TYPES.length] ?? 'email:send', { i, to: `user${i % 5000}@example.com`, ...(fail ? { fail } : {}) } satisfies Payload)
  return delayMs > 0 ? s.delay(delayMs + (i % 3600) * 1000) : s
}

async function dispatchPlain(p: SeedPlan, n: number, make: (k: number) => ReturnType<typeof spec>): Promise<void> {
  for (let off = 0; off < n; off += p.slice) {
    await queue.dispatchMany(Array.from({ length: Math.min(p.slice, n - off) }, (_, k) => make(off + k)))
  }
}

async function groups(p: SeedPlan, chains: number, batches: number): Promise<void> {
  for (let c = 0; c < chains; c += 50) {
    await Promise.all(Array.from({ length: Math.min(50, chains - c) }, () => queue.chain(...Array.from({ length: p.chainSteps }, () => spec())).dispatch()))
  }
  for (let b = 0; b < batches; b++) {
    await queue
      .batch(...Array.from({ length: p.batchSize }, () => spec()))
      .name(`import ${b + 1}`)
      .dispatch()
  }
}

/**
 * Loads the plan's jobs. The ones to finish go in first and the engine runs them at full
 * speed; then, with the engine stopped, the ones left waiting and delayed.
 */
async function seed(scale: number): Promise<SeedResult> {
  const p = seedPlan(scale)
  const t0 = performance.now()
  await queue.start()
  // One failure in ten, spread through the dispatch order.
  const total = p.succeeded + p.failed
  const every = Math.round(total / p.failed)
  await dispatchPlain(p, total, (k) => spec(k % every === every - 1))
  await groups(p, p.doneChains, p.doneBatches)
  const dispatchedMs = performance.now() - t0
  for (;;) {
    const c = await queue.counts()
    if (c.waiting + c.active + c.blocked === 0) break
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  await queue.stop()
  const ranMs = performance.now() - t0
  await groups(p, p.openChains, p.openBatches)
  // Failures keep coming while the dashboard watches.
  await dispatchPlain(p, p.waiting, (k) => spec(k % RUN.failEvery === RUN.failEvery - 1))
  await dispatchPlain(p, p.delayed, () => spec(false, p.delayMs))
  const counts = await queue.counts()
  const stored = counts.blocked + counts.waiting + counts.delayed + counts.active + counts.succeeded + counts.failed + counts.cancelled
  if (stored !== seedTotal(p)) throw new Error(`the store holds ${stored} jobs after the seed, expected ${seedTotal(p)}`)
  return { ms: performance.now() - t0, dispatchedMs, ranMs, counts }
}

async function answer(cmd: Command): Promise<SeedResult | boolean> {
  switch (cmd.cmd) {
    case 'seed':
      return seed(cmd.scale)
    case 'run':
      paced = true
      await queue.start()
      return true
  }
}

self.addEventListener('message', (e: MessageEvent) => {
  const port = (e.data as { benchControl?: MessagePort } | null)?.benchControl
  if (!(port instanceof MessagePort)) return
  port.onmessage = (m: MessageEvent<Command & { id: number }>) => {
    const { id } = m.data
    answer(m.data).then(
      (result) => port.postMessage({ id, result } satisfies Reply),
      (err: unknown) => port.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies Reply),
    )
  }
})
