/**
 * docs/api/ is the API reference that `npm run docs` (TypeDoc, typedoc.json) generates from the
 * doc comments of every entry in package.json `exports`. A changed comment or export without a
 * regenerated reference fails here, and so does an entry the reference leaves out.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const committed = join(root, 'docs/api')
let generated: string

/** Every file under `dir`, as a path relative to `dir`. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const rel = `${prefix}${e.name}`
    return e.isDirectory() ? filesUnder(join(dir, e.name), `${rel}/`) : [rel]
  })
}

beforeAll(() => {
  generated = mkdtempSync(join(tmpdir(), 'ferry-api-docs-'))
  const typedoc = spawnSync(process.execPath, [join(root, 'node_modules/typedoc/bin/typedoc'), '--options', 'typedoc.json', '--out', generated], {
    cwd: root,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '0' },
  })
  if (typedoc.status !== 0) throw new Error(`TypeDoc failed (typedoc.json treats its warnings as errors):\n${typedoc.stdout}${typedoc.stderr}${typedoc.error ? String(typedoc.error) : ''}`)
}, 300_000)

afterAll(() => {
  rmSync(generated, { recursive: true, force: true })
})

describe('the API reference in docs/api/', () => {
  it('documents the module of every entry in package.json exports', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { import?: string }> }
    const parsed = ts.parseConfigFileTextToJson('typedoc.json', readFileSync(join(root, 'typedoc.json'), 'utf8'))
    expect(parsed.error, 'typedoc.json parses').toBeUndefined()
    const { entryPoints } = parsed.config as { entryPoints: string[] }
    // The module each subpath loads (its default condition), as the source file it is built from.
    const modules = Object.values(pkg.exports)
      .flatMap((target) => (typeof target === 'string' ? [] : target.import !== undefined ? [target.import] : []))
      .map((file) => file.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))
    expect(modules.length).toBeGreaterThan(0)
    expect([...entryPoints].sort()).toEqual([...modules].sort())
  })

  it('is what `npm run docs` generates from the sources', () => {
    const have = filesUnder(committed)
    const want = filesUnder(generated)
    const stale = [
      ...want.filter((f) => !have.includes(f)).map((f) => `missing: ${f}`),
      ...have.filter((f) => !want.includes(f)).map((f) => `not generated any more: ${f}`),
      ...want
        .filter((f) => have.includes(f))
        .flatMap((f) => {
          const a = readFileSync(join(committed, f), 'utf8').split('\n')
          const b = readFileSync(join(generated, f), 'utf8').split('\n')
          const line = Array.from({ length: Math.max(a.length, b.length) }, (_, i) => i).find((i) => a[i] !== b[i])
          return line === undefined ? [] : [`differs: ${f}:${line + 1}\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`]
        }),
    ]
    expect(want.length, 'TypeDoc wrote the reference').toBeGreaterThan(0)
    expect(stale, 'docs/api/ is out of date: run `npm run docs` and commit docs/api/').toEqual([])
  })
})
