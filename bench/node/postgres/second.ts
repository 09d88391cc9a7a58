/**
 * The second Node process of a two-process Postgres scenario: `node --import tsx
 * bench/node/postgres/second.ts <subject> <url> <concurrency>`. Makes the subject on the
 * database at url, says it is ready, starts its worker on `go`, reports how many jobs it ran
 * (batched per turn of the event loop), and on `stop` stops its worker, reports the total and
 * exits. Asked to dispatch job i, it dispatches it and reports when the dispatch resolved, on
 * the clock both processes share (`performance.timeOrigin + performance.now()`). Started with
 * an IPC channel by `scenarios.ts`.
 *
 * @module
 */
import { PG_SUBJECTS } from './subjects.js'
import type { FromSecond, ToSecond } from './scenarios.js'

const [name, url, c] = process.argv.slice(2)
const subject = name === undefined ? undefined : PG_SUBJECTS[name]
if (!subject || url === undefined || !(Number(c) > 0)) throw new Error('usage: second.ts <subject> <url> <concurrency>')
const send = (m: FromSecond) => process.send?.(m)

const a = await (await subject.load())({ url, concurrency: Number(c) })
let count = 0
let flushing = false
const handler = () => {
  count++
  if (flushing) return
  flushing = true
  setImmediate(() => {
    flushing = false
    send({ count })
  })
}
let started: Promise<void> = Promise.resolve()
process.on('message', (m: ToSecond) => {
  if (typeof m === 'object') void a.dispatch(m.dispatch).then(() => send({ returned: performance.timeOrigin + performance.now() }))
  else if (m === 'go') started = a.start(handler)
  else
    void (async () => {
      await started
      await a.stop()
      send({ stopped: count })
      await a.close()
      // Peers may leave timers and sockets behind.
      process.exit(0)
    })()
})
// The first process died: nothing is left to report to.
process.on('disconnect', () => process.exit(1))
send({ ready: true })
