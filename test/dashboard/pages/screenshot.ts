/**
 * A dashboard over a queue with what an app's queue holds after a while: jobs finished at a
 * varying pace over some seconds, a few failed, some running with progress, some delayed, a
 * chain halfway and a batch partly done; some jobs dispatched by the release before (1.4.1) and
 * run by this one (1.4.2), and the details of an order's job, with its metadata, open. Sets
 * `window.e2eReady` once it settled.
 */
import { UnrecoverableError, createQueue, job, memoryStore } from '../../../src/index.js'
import '../../../src/dashboard/index.js'

type Jobs = {
  'email:send': { to: string }
  'image:resize': { file: string; hold?: boolean }
  'photo:upload': { file: string }
  'report:build': { month: string }
  'order:charge': { order: number }
  'order:ship': { order: number }
  'order:notify': { order: number }
}

const never = new Promise<never>(() => undefined)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const store = memoryStore()
const queue = createQueue<Jobs>({ store, version: '1.4.2', concurrency: 8, defaults: { backoff: 50 } })
// The release before, whose jobs this one runs; it is never started.
const previous = createQueue<Jobs>({ store, version: '1.4.1' })
queue.register('email:send', async () => sleep(20))
queue.register('image:resize', async ({ hold }, ctx) => {
  await ctx.progress(hold ? 35 + Math.round(Math.random() * 50) : 100)
  if (hold) await never
})
queue.register('photo:upload', ({ file }) => {
  throw new UnrecoverableError(`413 Payload Too Large: ${file} is over the 25 MB limit`)
})
queue.register('report:build', () => 'ok')
queue.register('order:charge', () => 'charged')
queue.register('order:ship', async (_, ctx) => {
  await ctx.progress(60)
  await never
})
queue.register('order:notify', () => 'sent')

const el = document.querySelector('ferry-dashboard')
if (el) el.queue = queue
await queue.start()

// Ten seconds of work at a pace that rises and falls, so the chart has a shape; then the jobs
// it left are pruned, as retention would, and what the table shows is the work of now.
for (let s = 0; s < 10; s++) {
  const n = Math.round(6 + 14 * Math.sin((s / 9) * Math.PI))
  await queue.dispatchMany(Array.from({ length: n }, (_, i) => job('email:send', { to: `user${s}-${i}@example.com` })))
  if (s % 4 === 1) await queue.dispatch(job('photo:upload', { file: `IMG_${4000 + s}.heic` }))
  await sleep(1000)
}
await queue.prune(Date.now() + 1)

await previous.dispatchMany([
  job('email:send', { to: 'ada@example.com' }),
  job('photo:upload', { file: 'IMG_4127.heic' }),
  job('email:send', { to: 'grace@example.com' }),
])
const order = { userId: 'u_8812', orderId: 1042, region: 'eu-west', express: true }
await previous
  .chain(job('order:charge', { order: 1042 }).meta(order), job('order:ship', { order: 1042 }).meta(order), job('order:notify', { order: 1042 }).meta(order))
  .dispatch()
await queue
  .batch(...Array.from({ length: 8 }, (_, i) => job('image:resize', { file: `album/${i}.jpg`, hold: i >= 5 })))
  .name('album thumbnails')
  .dispatch()
await previous.dispatch(job('report:build', { month: '2026-11' }).delay(3_600_000))
await queue.dispatch(job('email:send', { to: 'late@example.com' }).delay(600_000))
const stray = await queue.dispatch(job('photo:upload', { file: 'IMG_4130.heic' }).delay(60_000))
await queue.cancel(stray.id)
await queue.dispatch(job('photo:upload', { file: 'IMG_4131.heic' }))
await sleep(1200)

// The shipping job's details, open as a reader would leave them, without the focus ring.
const [ship] = await queue.listJobs({ type: 'order:ship' })
const root = el?.shadowRoot
root?.querySelector<HTMLButtonElement>(`button[data-action="show-job"][data-job-id="${CSS.escape(ship?.id ?? '')}"]`)?.click()
;(root?.activeElement as HTMLElement | null)?.blur()
await sleep(400)

Object.assign(window, { e2eReady: true })
