import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))

describe('the fake queue under Jest', () => {
  it('passes and fails its assertions there too, with the readable message', () => {
    // Jest runs the package as users get it: built, imported by its name.
    const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8', timeout: 120_000 })
    expect(build.status, build.stdout + build.stderr).toBe(0)
    const out = spawnSync(
      process.execPath,
      [
        '--experimental-vm-modules',
        'node_modules/jest/bin/jest.js',
        '--ci',
        '--rootDir',
        'test/testing/fixtures',
        '--testMatch',
        '**/*.jest-test.mjs',
        '--transform',
        '{}',
      ],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    )
    const text = `${out.stdout}${out.stderr}`
    expect(text).toMatch(/Tests:\s+1 failed, 1 passed, 2 total/)
    expect(text).toContain('expected a "email:send" job matching the predicate to be dispatched')
    expect(text).toContain('email:send on default {"to":"ana@example.com"}')
    expect(out.status).toBe(1)
  }, 180_000)
})
