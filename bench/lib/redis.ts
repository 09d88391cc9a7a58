/**
 * A throwaway redis-server for BullMQ: installed with apt-get when missing (as root only),
 * started on a free port bound to 127.0.0.1 with an append-only file synced every second,
 * stopped at the end. When it cannot be had, `start` says why instead.
 *
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from './stats.js'

export type Redis = { port: number; version: string; stop(): Promise<void> } | { unavailable: string }

function hasRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0
}

function install(): string | undefined {
  if (hasRedis()) return undefined
  if (process.getuid?.() !== 0) return 'redis-server is not installed and the bench is not root (apt-get install -y redis-server)'
  console.error('installing redis-server with apt-get…')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const r = spawnSync('apt-get', ['install', '-y', 'redis-server'], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 0 || !hasRedis()) return `apt-get install -y redis-server failed: ${r.stderr?.toString().trim().split('\n').pop() ?? r.error?.message}`
  return undefined
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))))
    })
  })
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => {
      s.end()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

export async function startRedis(): Promise<Redis> {
  const missing = install()
  if (missing !== undefined) return { unavailable: missing }
  const version = /v=(\S+)/.exec(spawnSync('redis-server', ['--version']).stdout.toString())?.[1] ?? '?'
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--dir', dir]
  args.push('--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--daemonize', 'no')
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' })
  let exited = false
  child.once('exit', () => (exited = true))
  for (let i = 0; i < 100 && !exited; i++) {
    if (await answers(port)) {
      return {
        port,
        version,
        stop: async () => {
          if (!exited) {
            const gone = new Promise((resolve) => child.once('exit', resolve))
            child.kill('SIGTERM')
            await gone
          }
          rmSync(dir, { recursive: true, force: true })
        },
      }
    }
    await sleep(50)
  }
  child.kill('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
  return { unavailable: `redis-server did not answer on 127.0.0.1:${port}` }
}
