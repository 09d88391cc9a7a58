/**
 * The package as users get it: built, packed with `npm pack`, unpacked into an application's
 * node_modules, and used from there by a Vite production build for the browser, by Node, and
 * by `tsc` under both the browser and the Node export conditions.
 *
 * The application's other dependencies are links to this repository's node_modules, so
 * nothing is fetched.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../e2e/harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
let work: string
let app: string

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NODE_OPTIONS: '' } })
}
const output = (r: SpawnSyncReturns<string>): string => `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`

/** Builds the package into a staging folder (not the shared dist/), packs it, and installs it in `app`. */
function packAndInstall(): void {
  const stage = join(work, 'stage')
  mkdirSync(stage)
  for (const f of ['package.json', 'README.md']) cpSync(join(root, f), join(stage, f))
  const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')], root)
  if (tsc.status !== 0) throw new Error(`the build failed:\n${output(tsc)}`)
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage)
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${output(pack)}`)
  const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }]
  const modules = join(app, 'node_modules')
  mkdirSync(modules, { recursive: true })
  const untar = run('tar', ['-xzf', join(work, filename), '-C', modules], work)
  if (untar.status !== 0) throw new Error(`tar failed:\n${output(untar)}`)
  // Linked from outside node_modules, as `npm install <folder>` and workspaces do: Vite keeps
  // quiet about what modules inside node_modules import, and about these it must not need to.
  mkdirSync(join(app, 'packages'))
  renameSync(join(modules, 'package'), join(app, 'packages/ferry'))
  symlinkSync(join(app, 'packages/ferry'), join(modules, 'ferry'))
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name === 'ferry' || name.startsWith('.')) continue
    symlinkSync(join(root, 'node_modules', name), join(modules, name))
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ferry-packed-'))
  app = join(work, 'app')
  mkdirSync(app)
  packAndInstall()
}, 300_000)

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
})

/** Every `.js` file under `dir`, with its path relative to `dir`. */
function scripts(dir: string, prefix = ''): { name: string; text: string }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`
    if (e.isDirectory()) return scripts(join(dir, e.name), `${rel}/`)
    return rel.endsWith('.js') ? [{ name: rel, text: readFileSync(join(dir, e.name), 'utf8') }] : []
  })
}

describe('the packed package in a Vite production build for the browser', () => {
  it('carries no Node code, warns of no Node module, and opens an OPFS file in a worker', async () => {
    const site = join(app, 'site')
    mkdirSync(site)
    writeFileSync(join(site, 'index.html'), '<!doctype html><title>app</title><script type="module" src="./main.js"></script>\n')
    writeFileSync(
      join(site, 'main.js'),
      `import { createQueue } from 'ferry'
import { idbStore } from 'ferry/idb'
import { sqliteStore } from 'ferry/wasm-sqlite'

const stores = [idbStore({ name: 'app' }), sqliteStore()]
const queues = stores.map((store) => createQueue({ store }))
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
worker.onmessage = async (e) => {
  for (const q of queues) await q.close()
  window.result = e.data
}
`,
    )
    writeFileSync(
      join(site, 'worker.js'),
      `import { createQueue, job } from 'ferry'
import { sqliteStore } from 'ferry/wasm-sqlite'

async function main() {
  let queue = createQueue({ store: sqliteStore({ path: 'app.db' }) })
  await queue.dispatchMany([job('a', { n: 1 }), job('a', { n: 2 }), job('a', { n: 3 })])
  await queue.close()
  queue = createQueue({ store: sqliteStore({ path: 'app.db' }) })
  const waiting = (await queue.counts()).waiting
  await queue.close()
  return { waiting, entries: await opfsEntries() }
}

async function opfsEntries() {
  const names = []
  for await (const name of (await navigator.storage.getDirectory()).keys()) names.push(name)
  return names
}

main().then((r) => postMessage(r), (err) => postMessage({ error: String(err && err.stack || err) }))
`,
    )
    // Built in a process of its own, as a user's build runs: under Vitest NODE_ENV is 'test',
    // and Vite then builds for development.
    writeFileSync(
      join(app, 'build.mjs'),
      `import { build } from 'vite'

const logged = []
const log = (msg) => {
  logged.push(msg)
}
await build({
  root: process.argv[2],
  configFile: false,
  logLevel: 'info',
  customLogger: { info: log, warn: log, warnOnce: log, error: log, clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
  build: { outDir: 'dist', emptyOutDir: true, rollupOptions: { onwarn: (w) => log(w.message) } },
  worker: { format: 'es' },
})
console.log(JSON.stringify(logged))
`,
    )
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env['NODE_ENV']
    const vite = spawnSync(process.execPath, ['build.mjs', site], { cwd: app, encoding: 'utf8', timeout: 240_000, env })
    expect(vite.status, output(vite)).toBe(0)
    const logged = JSON.parse(vite.stdout.trim().split('\n').at(-1) ?? '[]') as string[]
    const built = scripts(join(site, 'dist'))
    expect(built.length).toBeGreaterThan(0)
    const log$ = logged.join('\n')
    expect(log$).not.toMatch(/externalized for browser compatibility/)
    expect(log$).not.toMatch(/node:/)
    const nodeCode = built.flatMap((f) => {
      const hit = /node-file|node-vfs|lock-file/.exec(f.name) ?? /node:(fs|path|os)|__vite-browser-external|\.lock['"`]/.exec(f.text)
      return hit ? [`${f.name}: ${f.text.slice(Math.max(0, hit.index - 80), hit.index + 80)}`] : []
    })
    expect(nodeCode).toEqual([])
    // The browser build still opens files in OPFS.
    expect(built.some((f) => f.text.includes('installOpfsSAHPoolVfs'))).toBe(true)

    const { preview } = await import('vite')
    const server = await preview({ root: site, configFile: false, logLevel: 'silent', build: { outDir: join(site, 'dist') }, preview: { host: '127.0.0.1', port: 0 } })
    const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
    try {
      const { port } = server.httpServer.address() as AddressInfo
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(String(err)))
      await page.goto(`http://127.0.0.1:${port}/`)
      const result = await (await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, { timeout: 60_000 })).jsonValue()
      expect(errors).toEqual([])
      expect(result).toEqual({ waiting: 3, entries: ['.ferry-opfs'] })
    } finally {
      await browser.close()
      await new Promise<void>((resolve) => server.httpServer.close(() => resolve()))
    }
  }, 240_000)
})

describe('the packed package in Node', () => {
  it('keeps a queue in a durable file with sqliteStore({ path })', () => {
    const file = join(app, 'jobs.db')
    writeFileSync(
      join(app, 'node-check.mjs'),
      `import { createQueue, job } from 'ferry'
import { request } from 'ferry/http'
import { sqliteStore } from 'ferry/wasm-sqlite'

const path = process.argv[2]
let queue = createQueue({ store: sqliteStore({ path }) })
await queue.dispatch(job('a', { n: 1 }))
await queue.dispatch(request({ url: 'https://example.com/a', body: { n: 1 } }))
await queue.close()
queue = createQueue({ store: sqliteStore({ path }) })
console.log(JSON.stringify({ waiting: (await queue.counts()).waiting }))
await queue.close()
`,
    )
    const out = run(process.execPath, ['node-check.mjs', file], app)
    expect(out.status, output(out)).toBe(0)
    expect(JSON.parse(out.stdout)).toEqual({ waiting: 2 })
    expect(existsSync(file)).toBe(true)
  }, 120_000)
})

describe('the packed package under tsc', () => {
  const source = `import { createQueue, job, type Queue } from 'ferry'
import { httpHandler, request, type HttpJobs } from 'ferry/http'
import { idbStore } from 'ferry/idb'
import { sqliteStore, type SqliteStore } from 'ferry/wasm-sqlite'

const store: SqliteStore = sqliteStore({ path: 'jobs.db', synchronous: 'full' })
// @ts-expect-error: a path is a string
sqliteStore({ path: 1 })
export const queues = [createQueue({ store }), createQueue({ store: idbStore({ name: 'app' }) })]
export const ran = store.transaction((tx) => tx.query('SELECT 1'))
export const one = job('a', { n: 1 })
export const outbox: Queue<HttpJobs> = createQueue<HttpJobs>()
outbox.register('http', httpHandler(), { network: 'online' })
export const sent = outbox.dispatch(request({ url: 'https://example.com/a', method: 'PUT', body: { n: 1 } }))
`
  it.each([
    ['browser', { module: 'ESNext', moduleResolution: 'Bundler', customConditions: ['browser'] }],
    ['Node', { module: 'NodeNext', moduleResolution: 'NodeNext' }],
  ])('resolves the declarations under the %s conditions', (name, options) => {
    const dir = join(app, `types-${name}`)
    mkdirSync(dir)
    writeFileSync(join(dir, 'main.ts'), source)
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...options, target: 'ES2022', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: false },
        files: ['main.ts'],
      }),
    )
    const out = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir, '--traceResolution'], app)
    const trace = output(out)
    expect(trace.split('\n').filter((l) => l.includes('error TS')), 'tsc errors').toEqual([])
    expect(out.status).toBe(0)
    const wasm = /'ferry\/wasm-sqlite' was successfully resolved to '([^']+)'/.exec(trace)?.[1] ?? ''
    expect(wasm).toMatch(name === 'browser' ? /index\.browser\.d\.ts$/ : /wasm-sqlite\/index\.d\.ts$/)
  }, 120_000)
})
