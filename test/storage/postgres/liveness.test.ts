import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { InvalidArgumentError } from '../../../src/core/errors.js'
import type { Driver } from '../../../src/storage/postgres/driver.js'
import { pgDriver } from '../../../src/storage/postgres/driver-pg.js'
import { postgresLiveness } from '../../../src/storage/postgres/liveness.js'
import { freshSchema, postgresUrl, testPool } from '../../helpers/postgres.js'

// Two pools: the connections of two processes.
const poolA = testPool({ max: 4 })
const poolB = testPool({ max: 4 })

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

function liveness(driver: Driver, schema: string, o: { pollMs?: number; reconnectMs?: readonly number[] } = {}): ReturnType<typeof postgresLiveness> {
  const l = postgresLiveness({ driver, schema, ...o })
  closers.push(() => l.close())
  return l
}

let owners = 0
const newOwner = (): string => `engine-${process.pid}-${++owners}`

/** Ends the server backend that holds `owner`'s lock, as a network failure or a server restart would. */
async function dropConnectionOf(schema: string, owner: string): Promise<void> {
  const { rows } = await poolB.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l JOIN "${schema}".engine_locks e
     ON l.locktype = 'advisory' AND l.objsubid = 2 AND l.objid = e.key::oid AND l.classid = '"${schema}".engine_locks'::regclass::oid
     WHERE e.owner = $1 AND l.granted`,
    [owner],
  )
  expect(rows).toEqual([{ ended: true }])
}

const root = fileURLToPath(new URL('../../../', import.meta.url))

/** A Node process holding `owner` in its own liveness; resolves once it holds. */
async function processHolding(schema: string, owner: string): Promise<ChildProcess> {
  const code = `
    const { default: pg } = await import('pg')
    const { pgDriver } = await import('./src/storage/postgres/driver-pg.ts')
    const { postgresLiveness } = await import('./src/storage/postgres/liveness.ts')
    const pool = new pg.Pool({ connectionString: process.env.FERRY_TEST_POSTGRES_URL })
    const liveness = postgresLiveness({ driver: pgDriver(pool), schema: process.env.SCHEMA })
    await liveness.hold(process.env.OWNER)
    process.stdout.write('held\\n')
    setInterval(() => {}, 1 << 30)
  `
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, FERRY_TEST_POSTGRES_URL: postgresUrl(), SCHEMA: schema, OWNER: owner },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  closers.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
  })
  let out = ''
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('held')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the holding process exited (${code}) before it held`)))
  })
  return child
}

describe('postgresLiveness', () => {
  it('lists an owner alive in another process while it holds, and no longer once released', async () => {
    const schema = freshSchema()
    const a = liveness(pgDriver(poolA), schema)
    const b = liveness(pgDriver(poolB), schema)
    const [one, two] = [newOwner(), newOwner()]
    const releaseOne = await a.hold(one)
    const releaseTwo = await a.hold(two)
    expect((await b.alive()).sort()).toEqual([one, two].sort())
    releaseOne()
    await expect.poll(() => b.alive()).toEqual([two])
    releaseTwo()
    await expect.poll(() => b.alive()).toEqual([])
    await expect.poll(async () => (await poolB.query(`SELECT * FROM "${schema}".engine_locks`)).rows).toEqual([])
  })

  it('no longer lists an owner once the process holding it is killed with SIGKILL, and tells its watchers', async () => {
    const schema = freshSchema()
    const b = liveness(pgDriver(poolB), schema, { pollMs: 100 })
    const [killed, survivor] = [newOwner(), newOwner()]
    const [child] = await Promise.all([processHolding(schema, killed), processHolding(schema, survivor)])
    expect((await b.alive()).sort()).toEqual([killed, survivor].sort())
    const died = vi.fn()
    b.watch?.(died)
    child.kill('SIGKILL')
    await once(child, 'exit')
    await expect.poll(() => died.mock.calls.length, { timeout: 5000 }).toBeGreaterThan(0)
    expect(await b.alive()).toEqual([survivor])
    // Starting two Node processes with a TypeScript loader takes seconds on a busy machine.
  }, 30_000)

  it('never lists an owner whose lock is gone though its row is left', async () => {
    const schema = freshSchema()
    const b = liveness(pgDriver(poolB), schema)
    const owner = newOwner()
    await b.alive()
    // A killed engine's row, with nobody holding its key.
    await poolA.query(`INSERT INTO "${schema}".engine_locks (owner) VALUES ($1)`, [owner])
    expect(await b.alive()).toEqual([])
    // The next hold clears such rows.
    const release = await b.hold(newOwner())
    expect((await poolA.query(`SELECT owner FROM "${schema}".engine_locks WHERE owner = $1`, [owner])).rows).toEqual([])
    release()
  })

  it('keeps the stores of two schemas apart', async () => {
    const [s1, s2] = [freshSchema(), freshSchema()]
    const a = liveness(pgDriver(poolA), s1)
    const b = liveness(pgDriver(poolB), s2)
    const [one, two] = [newOwner(), newOwner()]
    await a.hold(one)
    await b.hold(two)
    expect(await a.alive()).toEqual([one])
    expect(await b.alive()).toEqual([two])
  })

  it('takes its locks again when its connection drops, and the owner is alive again without onLost', async () => {
    const schema = freshSchema()
    const a = liveness(pgDriver(poolA), schema)
    const b = liveness(pgDriver(poolB), schema)
    const owner = newOwner()
    const lost = vi.fn()
    await a.hold(owner, lost)
    await dropConnectionOf(schema, owner)
    await expect.poll(() => b.alive(), { timeout: 5000 }).toEqual([owner])
    expect(lost).not.toHaveBeenCalled()
    // And again: the new connection is watched too.
    await dropConnectionOf(schema, owner)
    await expect.poll(() => b.alive(), { timeout: 5000 }).toEqual([owner])
    expect(lost).not.toHaveBeenCalled()
  })

  it('calls onLost when it cannot take its locks again', async () => {
    const schema = freshSchema()
    const real = pgDriver(poolA)
    let sessions = 0
    // The first connection works; the server refuses every later one.
    const driver: Driver = { ...real, session: () => (sessions++ === 0 ? real.session() : Promise.reject(new Error('connection refused'))) }
    const a = liveness(driver, schema, { reconnectMs: [0, 10, 10] })
    const b = liveness(pgDriver(poolB), schema)
    const owner = newOwner()
    const lost = vi.fn()
    await a.hold(owner, lost)
    await dropConnectionOf(schema, owner)
    await expect.poll(() => lost.mock.calls.length, { timeout: 5000 }).toBe(1)
    expect(await b.alive()).toEqual([])
  })

  it('refuses a bad schema, a bad pollMs, an empty owner and an owner held twice', async () => {
    const driver = pgDriver(poolA)
    expect(() => postgresLiveness({ driver, schema: 'Bad-Name' })).toThrow(InvalidArgumentError)
    expect(() => postgresLiveness({ driver, schema: 'ok', pollMs: 0 })).toThrow(InvalidArgumentError)
    const l = liveness(driver, freshSchema())
    await expect(l.hold('')).rejects.toThrow(InvalidArgumentError)
    const owner = newOwner()
    await l.hold(owner)
    await expect(l.hold(owner)).rejects.toThrow(InvalidArgumentError)
  })

  it('releases every lock when closed', async () => {
    const schema = freshSchema()
    const a = postgresLiveness({ driver: pgDriver(poolA), schema })
    const b = liveness(pgDriver(poolB), schema)
    await a.hold(newOwner())
    await a.hold(newOwner())
    expect(await b.alive()).toHaveLength(2)
    await a.close()
    await expect.poll(() => b.alive()).toEqual([])
    await expect(a.hold(newOwner())).rejects.toThrow(InvalidArgumentError)
  })
})
