/**
 * One engine of the clock skew test: a Node process whose system clock is `SKEW_MS` off.
 *
 *   FERRY_TEST_POSTGRES_URL=<url> SKEW_MS=<ms> node --import tsx clock-child.ts <schema> <log file> <name>
 *
 * The engine works `postgresStore({ pool, schema })` with `createQueue` given no clock, at
 * concurrency `CONCURRENCY`, leases of `LEASE_MS`; its handler of type `slow` takes `WORK_MS`.
 * With `SCHEDULE=1` it first opens the store, then schedules `tick` every second (as every
 * process of an application does when it starts), whose handler returns at once.
 * Each start, end and lost lease is written to the log file, one line each, times in real ms:
 * `S <name> <job id> <attempt> <ms>`, `E <name> <job id> <ms> <aborted|ok>`, `L <name> <job id>`,
 * `X <name> <message>` for a `queue:error`. stdout: `started` once the engine runs, `stopped`
 * after a `stop` line on stdin. The process exits when stdin ends.
 */
import { appendFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import pg from 'pg'

const realNow = Date.now.bind(Date)
const skew = Number(process.env['SKEW_MS'] ?? 0)
// The whole process sees the wrong time, ferry included.
if (skew !== 0) Date.now = () => realNow() + skew

const { createQueue, job } = await import('../../../src/index.js')
const { postgresStore } = await import('../../../src/storage/postgres/index.js')

const [schema, logPath, name] = process.argv.slice(2)
const url = process.env['FERRY_TEST_POSTGRES_URL']
if (schema === undefined || logPath === undefined || name === undefined || !url) {
  throw new Error('usage: FERRY_TEST_POSTGRES_URL=<url> clock-child.ts <schema> <log file> <name>')
}
const concurrency = Number(process.env['CONCURRENCY'] ?? 4)
const workMs = Number(process.env['WORK_MS'] ?? 2000)
const write = (line: string): void => appendFileSync(logPath, `${line}\n`)

const pool = new pg.Pool({ connectionString: url, max: concurrency + 4 })
const store = postgresStore({ pool, schema })
const queue = createQueue({ store, concurrency, leaseMs: Number(process.env['LEASE_MS'] ?? 3000) })
queue.register('slow', async (_payload, ctx) => {
  write(`S ${name} ${ctx.id} ${ctx.attempt} ${realNow()}`)
  await new Promise((resolve) => setTimeout(resolve, workMs))
  write(`E ${name} ${ctx.id} ${realNow()} ${ctx.signal.aborted ? 'aborted' : 'ok'}`)
})
queue.register('tick', (_payload, ctx) => write(`S ${name} ${ctx.id} ${ctx.attempt} ${realNow()}`))
if (process.env['SCHEDULE'] === '1') {
  // The store measures the server's time as it opens: a call made before that reads the local time.
  await store.open()
  await queue.schedule('every-second', { every: 1000 }, job('tick', null))
}
queue.events.subscribe((e) => {
  if (e.kind === 'lease:lost') write(`L ${name} ${e.jobId}`)
  if (e.kind === 'queue:error') write(`X ${name} ${e.error.message.replace(/\s+/g, ' ')}`)
})
await queue.start()
process.stdout.write('started\n')

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  if (line.trim() !== 'stop') return
  void (async () => {
    await queue.close()
    await pool.end()
    process.stdout.write('stopped\n')
  })()
})
lines.on('close', () => process.exit(0))
