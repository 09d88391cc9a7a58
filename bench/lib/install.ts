/**
 * Installs the bench's own dependencies (the peer libraries) into bench/node_modules when they
 * are missing, so that installing ferry itself never pulls them in.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))

export function ensureBenchDeps(): void {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
  const missing = Object.keys(pkg.dependencies).filter((name) => !existsSync(new URL(`../node_modules/${name}/package.json`, import.meta.url)))
  if (missing.length === 0) return
  console.error(`bench: installing ${missing.join(', ')} into bench/node_modules (better-sqlite3 builds from source: about 90 s)…`)
  const r = spawnSync('npm', ['install', '--prefix', BENCH_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] })
  if (r.status !== 0) throw new Error(`npm install --prefix bench failed (exit ${r.status ?? r.signal ?? '?'})`)
}
