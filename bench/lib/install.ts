/**
 * Installs the bench's own dependencies (the peer libraries) when they are missing: into
 * bench/node_modules, and liteque with the better-sqlite3 it needs into
 * bench/liteque/node_modules, so that installing ferry itself never pulls them in.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))

/** The folders under bench/ with a package.json of peers, each installed on its own. */
const INSTALLS = ['', 'liteque/']

export function ensureBenchDeps(): void {
  for (const sub of INSTALLS) {
    const dir = new URL(`../${sub}`, import.meta.url)
    const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { dependencies: Record<string, string> }
    const missing = Object.keys(pkg.dependencies).filter((name) => !existsSync(new URL(`node_modules/${name}/package.json`, dir)))
    if (missing.length === 0) continue
    console.error(`bench: installing ${missing.join(', ')} into bench/${sub}node_modules (better-sqlite3 builds from source: about 90 s)…`)
    const r = spawnSync('npm', ['install', '--prefix', fileURLToPath(dir), '--no-audit', '--no-fund'], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (r.status !== 0) throw new Error(`npm install --prefix bench/${sub} failed (exit ${r.status ?? r.signal ?? '?'})`)
  }
}
