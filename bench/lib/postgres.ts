/**
 * A throwaway PostgreSQL server for the Postgres benchmarks: a cluster made with initdb in a
 * temp directory, started on a free port bound to 127.0.0.1 with the durability every subject
 * then shares (fsync on, synchronous_commit on, full_page_writes on), stopped and deleted at
 * the end. Installed with apt-get when missing (as root only). As root, initdb and postgres
 * run as the user `postgres`, which PostgreSQL requires, on a directory that user owns. When a
 * server cannot be had, `startPostgres` says why instead.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort } from './redis.js'
import { sleep } from './stats.js'

export type Postgres = { url: string; version: string; settings: string; stop(): Promise<void> } | { unavailable: string }

/** What every subject runs with; written on the server's command line and in the results. */
export const SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_connections: '200',
  shared_buffers: '256MB',
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin')
}

function install(): string | undefined {
  if (binDir() !== undefined) return undefined
  if (process.getuid?.() !== 0) return 'PostgreSQL is not installed and the bench is not root (apt-get install -y postgresql)'
  console.error('installing postgresql with apt-get…')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const r = spawnSync('apt-get', ['install', '-y', 'postgresql'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0 || binDir() === undefined) return `apt-get install -y postgresql failed: ${r.stderr?.toString().trim().split('\n').pop() ?? r.error?.message}`
  return undefined
}

/** As root, the uid and gid of `postgres`: initdb and postgres refuse to run as root. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  const uid = id('-u')
  const gid = id('-g')
  if (!(uid > 0 && gid > 0)) throw new Error('running as root, but there is no user postgres to run the server as')
  return { uid, gid }
}

async function answers(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url })
  try {
    await c.connect()
    await c.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await c.end().catch(() => undefined)
  }
}

export async function startPostgres(): Promise<Postgres> {
  const missing = install()
  if (missing !== undefined) return { unavailable: missing }
  const bin = binDir() as string
  const user = serverUser()
  const version = spawnSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).stdout.trim()
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-pg-'))
  if (user) chownSync(dir, user.uid, user.gid)
  const data = join(dir, 'data')
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-instructions'], {
    ...user,
    cwd: dir,
    encoding: 'utf8',
  })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    return { unavailable: `initdb failed: ${init.stderr.trim().split('\n').pop() ?? init.error?.message}` }
  }
  const port = await freePort()
  const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`]
  for (const [k, v] of Object.entries(SETTINGS)) args.push('-c', `${k}=${v}`)
  const child: ChildProcess = spawn(join(bin, 'postgres'), args, { ...user, cwd: dir, stdio: 'ignore' })
  let exited = false
  // A bench that dies (an uncaught error) takes its server with it: 'exit' runs even then.
  const orphan = () => child.kill('SIGINT')
  process.once('exit', orphan)
  child.once('exit', () => {
    exited = true
    process.off('exit', orphan)
  })
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const stop = async () => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve))
      // SIGINT: the fast shutdown, which ends the sessions still open and checkpoints.
      child.kill('SIGINT')
      await gone
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 200 && !exited; i++) {
    if (await answers(url)) {
      const settings = Object.entries(SETTINGS)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')
      return { url, version, settings, stop }
    }
    await sleep(50)
  }
  child.kill('SIGKILL')
  await stop()
  return { unavailable: `postgres did not answer on 127.0.0.1:${port}` }
}

let made = 0

/**
 * A new, empty database on the server of `adminUrl` for one scenario, and how to drop it.
 * Every scenario gets its own, so that no subject finds another's tables, rows or statistics.
 */
export async function freshDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${process.pid}_${made++}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.href,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl })
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await c.end()
      }
    },
  }
}
