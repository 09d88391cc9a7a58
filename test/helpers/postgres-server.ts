/**
 * Global setup of the node project: a throwaway PostgreSQL server for the Postgres store's
 * tests, which reach it through `postgresUrl()` (test/helpers/postgres.ts).
 *
 * The server starts in the background so that a run that never touches Postgres does not wait
 * for it: the URL is provided at once, and `postgresUrl()` blocks until the marker file says
 * the server accepts connections (or why it never will). With FERRY_TEST_POSTGRES_URL set,
 * nothing starts and the tests use that server.
 *
 * The cluster: `initdb` in a fresh temp dir owned by user `postgres` (the server refuses to run
 * as root; as another user it runs as that user), listening on 127.0.0.1 only on a free port,
 * its socket in the temp dir, trust auth, `fsync` on as users have it, and connections enough
 * for test files running in parallel. Teardown stops it and deletes the dir. A watchdog shell
 * does the same if this process dies without its teardown (Ctrl-C, kill -9), so a leftover
 * cluster never keeps the machine busy.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chownSync, closeSync, existsSync, openSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The test server's connection string, `postgres://postgres@127.0.0.1:<port>/postgres`. */
    postgresUrl: string
    /**
     * The file that appears once the server accepts connections ('' when the URL came from
     * FERRY_TEST_POSTGRES_URL); `<file>.failed` appears instead, holding why it did not start.
     */
    postgresReady: string
  }
}

/** The server's settings, as `-c name=value` flags of `postgres`. */
const settings = (port: number, dir: string): Record<string, string> => ({
  listen_addresses: '127.0.0.1',
  port: String(port),
  unix_socket_directories: dir,
  fsync: 'on',
  synchronous_commit: 'on',
  max_connections: '200',
  // Quiet unless something is wrong: the log is read only when the server fails to start.
  log_min_messages: 'warning',
})

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env['FERRY_TEST_POSTGRES_URL']
  if (given) {
    project.provide('postgresUrl', given)
    project.provide('postgresReady', '')
    return async () => {}
  }
  const server = new ThrowawayServer(await freePort())
  project.provide('postgresUrl', server.url)
  project.provide('postgresReady', server.readyFile)
  const onSignal = (signal: NodeJS.Signals): void => {
    server.stopNow()
    // A listener turns off the default of ending the process: where nobody else handles the
    // signal, it is raised again (this listener is gone by now) and ends the process as usual.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  return async () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await server.stop()
  }
}

class ThrowawayServer {
  readonly dir = mkdtempSync(join(tmpdir(), 'ferry-pg-'))
  readonly readyFile = join(this.dir, 'ready')
  readonly url: string
  readonly #port: number
  readonly #bin = findBin()
  readonly #asRoot = userInfo().uid === 0
  /** What runs now: initdb, then postgres (or runuser running it). */
  #child: ChildProcess | undefined
  #stopping = false
  #watchdog: ChildProcess | undefined
  #started: Promise<void>

  constructor(port: number) {
    this.#port = port
    this.url = `postgres://postgres@127.0.0.1:${this.#port}/postgres`
    this.#started = this.#start().then(
      () => writeFileSync(this.readyFile, this.url),
      (error: unknown) => {
        const log = existsSync(this.#log) ? readFileSync(this.#log, 'utf8') : ''
        const message = error instanceof Error ? error.message : String(error)
        writeFileSync(`${this.readyFile}.failed`, `${message}\n${log}`)
      },
    )
  }

  get #data(): string {
    return join(this.dir, 'data')
  }

  get #log(): string {
    return join(this.dir, 'server.log')
  }

  async #start(): Promise<void> {
    if (this.#bin === undefined) {
      throw new Error('no PostgreSQL server programs in /usr/lib/postgresql/<version>/bin: run `node scripts/ensure-postgres.mjs`')
    }
    if (this.#asRoot) {
      const { uid, gid } = postgresUser()
      chownSync(this.dir, uid, gid)
    }
    this.#watchdog = this.#startWatchdog()
    // --no-sync: initdb's own fsyncs only make a throwaway cluster slower to create; the
    // running server keeps fsync on.
    const initdb = this.#spawn('initdb', ['-D', this.#data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'])
    const [code] = (await once(initdb, 'exit')) as [number | null]
    if (code !== 0) throw new Error(`initdb failed (${code ?? 'killed'})`)
    if (this.#stopping) throw new Error('stopped before it started')
    const flags = Object.entries(settings(this.#port, this.dir)).flatMap(([name, value]) => ['-c', `${name}=${value}`])
    const postgres = this.#spawn('postgres', ['-D', this.#data, ...flags])
    const exited = once(postgres, 'exit').then(([code, signal]) => {
      throw new Error(`postgres exited (${String(signal ?? code)}) while starting`)
    })
    exited.catch(() => {})
    await Promise.race([exited, this.#accepting()])
  }

  /**
   * Starts one of the server's programs, as user `postgres` when we are root, in a process
   * group of its own (Ctrl-C reaches it through `stopNow`, not the terminal), its output
   * appended to the log.
   */
  #spawn(program: string, args: string[]): ChildProcess {
    const path = join(this.#bin ?? '', program)
    const [command, ...rest] = this.#asRoot ? ['runuser', '-u', 'postgres', '--', path, ...args] : [path, ...args]
    const log = openSync(this.#log, 'a')
    try {
      this.#child = spawn(command, rest, { stdio: ['ignore', log, log], detached: true })
    } finally {
      closeSync(log)
    }
    return this.#child
  }

  /** Resolves once a connection can run a query (`postgres` listens before it accepts). */
  async #accepting(): Promise<void> {
    const deadline = Date.now() + 60_000
    for (;;) {
      const client = new pg.Client({ connectionString: this.url })
      try {
        await client.connect()
        await client.query('SELECT 1')
        return
      } catch (error) {
        if (this.#stopping || Date.now() > deadline) throw error
        await new Promise((resolve) => setTimeout(resolve, 50))
      } finally {
        await client.end().catch(() => {})
      }
    }
  }

  /**
   * A shell, in a session of its own so that Ctrl-C does not end it first, that waits for this
   * process to die, then stops the server at once and deletes the dir.
   */
  #startWatchdog(): ChildProcess {
    const script = [
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
      `pid=$(head -n 1 '${this.#data}/postmaster.pid' 2>/dev/null)`,
      `if [ -n "$pid" ]; then kill -QUIT "$pid" 2>/dev/null; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; fi`,
      `rm -rf '${this.dir}'`,
    ].join('\n')
    const watchdog = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' })
    watchdog.unref()
    return watchdog
  }

  /**
   * Fast shutdown when the server runs (its sessions are ended); when it is still starting,
   * immediate shutdown of what runs (initdb or postgres). Then the dir goes.
   */
  async stop(): Promise<void> {
    this.#stopping = true
    const child = this.#child
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit')
      if (existsSync(this.readyFile)) this.#signalServer('SIGINT')
      else this.#signalGroup('SIGQUIT')
      await exited
    }
    await this.#started
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 })
    this.#watchdog?.kill()
  }

  /** On a signal: immediate shutdown; the watchdog deletes the dir once this process is gone. */
  stopNow(): void {
    this.#stopping = true
    this.#signalGroup('SIGQUIT')
  }

  /** Signals the process group of what runs now: runuser and its program. */
  #signalGroup(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid
    if (pid === undefined) return
    try {
      process.kill(-pid, signal)
    } catch {
      // Already gone.
    }
  }

  /** Signals the postmaster itself (under runuser, our child is runuser). */
  #signalServer(signal: NodeJS.Signals): void {
    try {
      const pid = Number(readFileSync(join(this.#data, 'postmaster.pid'), 'utf8').split('\n')[0])
      if (pid > 0) process.kill(pid, signal)
    } catch {
      this.#signalGroup(signal)
    }
  }
}

/** A port nobody listens on now (the kernel's pick; taken again by the server a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', resolve)
  })
  const address = probe.address()
  await new Promise((resolve) => probe.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no TCP port for the test server')
  return address.port
}

/** The bin dir of the newest PostgreSQL under /usr/lib/postgresql (Debian's layout). */
function findBin(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const version = readdirSync(root)
    .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))[0]
  return version === undefined ? undefined : join(root, version, 'bin')
}

function postgresUser(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'))
  const [, , uid, gid] = line?.split(':') ?? []
  if (uid === undefined || gid === undefined) throw new Error('no user `postgres` to run the server as (we are root)')
  return { uid: Number(uid), gid: Number(gid) }
}
