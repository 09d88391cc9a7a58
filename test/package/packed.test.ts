/**
 * The package as users get it: built, packed with `npm pack`, unpacked into an application's
 * node_modules, and used from there by a Vite production build for the browser, by Node, and
 * by `tsc` under both the browser and the Node export conditions. The tarball itself passes
 * publint and Are the Types Wrong, and holds exactly the files meant to be published.
 *
 * The application's other dependencies are links to this repository's node_modules, so
 * nothing is fetched.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { publint } from 'publint'
import { formatMessage } from 'publint/utils'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM_ARGS } from '../e2e/harness.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; files: string[]; exports: Record<string, unknown> }
/** Every module the package exports (`ferry`, `ferry/idb`, …), read from package.json so that none is left out. */
const specifiers = Object.entries(pkg.exports)
  .filter(([, target]) => !(typeof target === 'string' && target.endsWith('.json')))
  .map(([subpath]) => (subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`))
let work: string
let app: string
/** The tarball `npm pack` wrote, and the files it lists. */
let tarball: string
let packed: string[]

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, NODE_OPTIONS: '' } })
}
const output = (r: SpawnSyncReturns<string>): string => `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}`

/**
 * Copies what package.json `files` lists (but dist/) and the files npm always packs into a
 * staging folder, builds dist/ there with `npm run build`'s configuration (not into the shared
 * dist/; the source maps point at the staged src/ as they point at src/ in a real build),
 * packs it, and installs it in `app`.
 */
function packAndInstall(): void {
  const stage = join(work, 'stage')
  mkdirSync(stage)
  const copied = ['package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json', ...pkg.files.filter((f) => f !== 'dist')]
  for (const f of copied) if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'))
  const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], stage)
  if (tsc.status !== 0) throw new Error(`the build failed:\n${output(tsc)}`)
  const pack = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage)
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${output(pack)}`)
  const [{ filename, files }] = JSON.parse(pack.stdout) as [{ filename: string; files: { path: string }[] }]
  tarball = join(work, filename)
  packed = files.map((f) => f.path)
  const modules = join(app, 'node_modules')
  mkdirSync(modules, { recursive: true })
  const untar = run('tar', ['-xzf', tarball, '-C', modules], work)
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

/** Every file under `dir`, as a path relative to `dir`. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`
    return e.isDirectory() ? filesUnder(join(dir, e.name), `${rel}/`) : [rel]
  })
}

/** Every `.js` file under `dir`, with its path relative to `dir`. */
function scripts(dir: string): { name: string; text: string }[] {
  return filesUnder(dir)
    .filter((name) => name.endsWith('.js'))
    .map((name) => ({ name, text: readFileSync(join(dir, name), 'utf8') }))
}

/** A site in the application: `index.html` loading `main.js`, and the other scripts given. */
function site(name: string, scriptFiles: Record<string, string>): string {
  const dir = join(app, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>app</title><script type="module" src="./main.js"></script>\n')
  for (const [file, text] of Object.entries(scriptFiles)) writeFileSync(join(dir, file), text)
  return dir
}

/** Runs a Vite production build of `dir` into `dir`/dist; what Vite logged and the scripts it wrote. */
function viteBuild(dir: string): { logged: string; built: { name: string; text: string }[] } {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env['NODE_ENV']
  const vite = spawnSync(process.execPath, ['build.mjs', dir], { cwd: app, encoding: 'utf8', timeout: 240_000, env })
  expect(vite.status, output(vite)).toBe(0)
  const logged = JSON.parse(vite.stdout.trim().split('\n').at(-1) ?? '[]') as string[]
  return { logged: logged.join('\n'), built: scripts(join(dir, 'dist')) }
}

/** Serves the build of `dir` with `vite preview`, opens it in Chromium, and waits for `window.result`. */
async function openInChromium(dir: string): Promise<{ result: unknown; errors: string[] }> {
  const { preview } = await import('vite')
  const server = await preview({ root: dir, configFile: false, logLevel: 'silent', build: { outDir: join(dir, 'dist') }, preview: { host: '127.0.0.1', port: 0 } })
  const browser = await chromium.launch({ executablePath: process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS })
  try {
    const { port } = server.httpServer.address() as AddressInfo
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(String(err)))
    await page.goto(`http://127.0.0.1:${port}/`)
    const result = await (await page.waitForFunction(() => (window as { result?: unknown }).result, undefined, { timeout: 60_000 })).jsonValue()
    return { result, errors }
  } finally {
    await browser.close()
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()))
  }
}

describe('the packed package as published', () => {
  it('holds the built modules with their declarations and source maps, the sources the maps point at, the README and package.json, and nothing else', () => {
    // The maps (and the declaration maps that take an editor's "go to definition" to the
    // TypeScript source) point at src/, so src/ is published with them: every file of it,
    // and a module, its declarations and both maps in dist/ for each source module.
    const sources = filesUnder(join(root, 'src')).map((f) => `src/${f}`)
    const modules = sources.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => `dist/${f.slice('src/'.length, -'.ts'.length)}`)
    const expected = [
      'package.json',
      'README.md',
      ...(existsSync(join(root, 'LICENSE')) ? ['LICENSE'] : []),
      ...sources,
      ...modules.flatMap((m) => [`${m}.js`, `${m}.js.map`, `${m}.d.ts`, `${m}.d.ts.map`]),
    ]
    expect([...packed].sort()).toEqual(expected.sort())
    expect(packed.filter((f) => /\.test\.|__tests__|(^|\/)test\//.test(f)), 'tests').toEqual([])
  })

  it('has source maps whose every source is in the package', () => {
    const dir = join(app, 'packages/ferry')
    const missing = packed
      .filter((f) => f.endsWith('.map'))
      .flatMap((map) => {
        const { sources } = JSON.parse(readFileSync(join(dir, map), 'utf8')) as { sources: string[] }
        return sources.filter((s) => !existsSync(join(dir, dirname(map), s))).map((s) => `${map}: ${s}`)
      })
    expect(missing).toEqual([])
  })

  it('passes publint with no error, warning or suggestion', async () => {
    const bytes = readFileSync(tarball)
    const { messages, pkg: linted } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
      level: 'suggestion',
      strict: true,
    })
    expect(messages.map((m) => `${m.type} ${m.code}: ${formatMessage(m, linted, { color: false })}`)).toEqual([])
  }, 60_000)

  it('has types that resolve as they should for an ES module package (Are the Types Wrong, esm-only profile)', () => {
    // The esm-only profile leaves out the node10 and the CommonJS `require` resolutions: ferry
    // is ES modules only, so `require('ferry')` is not meant to find anything.
    const attw = run(process.execPath, [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color'], work)
    expect(attw.status, output(attw)).toBe(0)
  }, 120_000)
})

describe('every module in package.json exports', () => {
  it('is imported by Node, where there is no DOM', () => {
    writeFileSync(
      join(app, 'import-all.mjs'),
      `const loaded = {}
for (const specifier of JSON.parse(process.argv[2])) {
  try {
    loaded[specifier] = Object.keys(await import(specifier)).length
  } catch (err) {
    loaded[specifier] = String((err && err.stack) || err)
  }
}
console.log(JSON.stringify({ dom: [typeof window, typeof document, typeof HTMLElement, typeof customElements], loaded }))
`,
    )
    const out = run(process.execPath, ['import-all.mjs', JSON.stringify(specifiers)], app)
    expect(out.status, output(out)).toBe(0)
    const { dom, loaded } = JSON.parse(out.stdout) as { dom: string[]; loaded: Record<string, number | string> }
    expect(dom).toEqual(['undefined', 'undefined', 'undefined', 'undefined'])
    expect(Object.keys(loaded)).toEqual(specifiers)
    const failed = Object.entries(loaded).filter(([, exports]) => typeof exports !== 'number' || exports === 0)
    expect(failed.map(([specifier, exports]) => `${specifier}: ${exports}`)).toEqual([])
  }, 120_000)

  it('is bundled by a Vite production build and loads in Chromium', async () => {
    const dir = site('site-all', {
      'main.js': `${specifiers.map((s, i) => `import * as m${i} from '${s}'`).join('\n')}

window.result = { ${specifiers.map((s, i) => `'${s}': Object.keys(m${i}).length`).join(', ')} }
`,
    })
    const { built } = viteBuild(dir)
    expect(built.length).toBeGreaterThan(0)
    const { result, errors } = await openInChromium(dir)
    expect(errors).toEqual([])
    expect(Object.keys(result as object)).toEqual(specifiers)
    const failed = Object.entries(result as Record<string, number>).filter(([, exports]) => exports === 0)
    expect(failed).toEqual([])
  }, 240_000)
  it('keeps <ferry-dashboard> defined by a bare import of ferry/dashboard in a Vite production build', async () => {
    const dir = site('site-dashboard', {
      'main.js': `import 'ferry/dashboard'

window.result = { defined: typeof customElements.get('ferry-dashboard') }
`,
    })
    viteBuild(dir)
    const { result, errors } = await openInChromium(dir)
    expect(errors).toEqual([])
    expect(result).toEqual({ defined: 'function' })
  }, 240_000)
})

describe('the packed package in a Vite production build for the browser', () => {
  it('carries no Node code, warns of no Node module, and opens an OPFS file in a worker', async () => {
    const dir = site('site', {
      'main.js': `import { createQueue } from 'ferry'
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
      'worker.js': `import { createQueue, job } from 'ferry'
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
  return names.sort()
}

main().then((r) => postMessage(r), (err) => postMessage({ error: String(err && err.stack || err) }))
`,
    })
    const { logged, built } = viteBuild(dir)
    expect(built.length).toBeGreaterThan(0)
    expect(logged).not.toMatch(/externalized for browser compatibility/)
    expect(logged).not.toMatch(/node:/)
    const nodeCode = built.flatMap((f) => {
      const hit = /node-file|node-vfs|lock-file/.exec(f.name) ?? /node:(fs|path|os)|__vite-browser-external|\.lock['"`]/.exec(f.text)
      return hit ? [`${f.name}: ${f.text.slice(Math.max(0, hit.index - 80), hit.index + 80)}`] : []
    })
    expect(nodeCode).toEqual([])
    // The browser build still opens files in OPFS.
    expect(built.some((f) => f.text.includes('installOpfsSAHPoolVfs'))).toBe(true)

    const { result, errors } = await openInChromium(dir)
    expect(errors).toEqual([])
    expect(result).toEqual({ waiting: 3, entries: ['.ferry-opfs', '.ferry-opfs-quota-probe'] })
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
