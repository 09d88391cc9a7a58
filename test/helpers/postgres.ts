/**
 * The PostgreSQL server of the node project's tests (test/helpers/postgres-server.ts starts it),
 * and what a test file needs of it.
 *
 * Child processes get the URL through the environment:
 * `env: { ...process.env, FERRY_TEST_POSTGRES_URL: postgresUrl() }`.
 */
import { existsSync, readFileSync } from 'node:fs'
import pg from 'pg'
import { afterAll, inject } from 'vitest'

/** How long `postgresUrl()` waits for the server to accept connections. */
const startTimeoutMs = 120_000

/**
 * The test server's connection string: FERRY_TEST_POSTGRES_URL when set, else the throwaway
 * server's. Blocks until that server accepts connections (it starts in the background).
 * @throws Error saying why when the server did not start
 */
export function postgresUrl(): string {
  const given = process.env['FERRY_TEST_POSTGRES_URL']
  if (given) return given
  const ready = inject('postgresReady')
  if (ready) waitForFile(ready)
  return inject('postgresUrl')
}

/** A pool on the test server, ended after the file's tests. Call it at the top of a file or a `describe`. */
export function testPool(options: Omit<pg.PoolConfig, 'connectionString'> = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: postgresUrl(), ...options })
  afterAll(() => pool.end())
  return pool
}

let schemas = 0

/** A schema (namespace) name no other test uses, for a store of its own: `t_<pid>_<time>_<n>`. */
export function freshSchema(): string {
  schemas += 1
  return `t_${process.pid}_${Date.now().toString(36)}_${schemas}`
}

function waitForFile(ready: string): void {
  // postgresUrl() is synchronous: the test process sleeps until the setup's marker appears.
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  const deadline = Date.now() + startTimeoutMs
  while (!existsSync(ready)) {
    if (existsSync(`${ready}.failed`)) {
      throw new Error(`the test PostgreSQL server did not start: ${readFileSync(`${ready}.failed`, 'utf8')}`)
    }
    if (Date.now() > deadline) throw new Error(`the test PostgreSQL server did not start within ${startTimeoutMs / 1000} s`)
    Atomics.wait(sleeper, 0, 0, 20)
  }
}
