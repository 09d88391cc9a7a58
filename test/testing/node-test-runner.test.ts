import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

describe('the fake queue under node:test', () => {
  it('passes and fails its assertions there too, with the readable message', () => {
    const fixture = fileURLToPath(new URL('./fixtures/fake-queue.node-test.ts', import.meta.url))
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], {
      encoding: 'utf8',
      timeout: 60_000,
    })
    const text = `${out.stdout}${out.stderr}`
    expect(text).toMatch(/^# pass 1$/m)
    expect(text).toMatch(/^# fail 1$/m)
    expect(text).toContain('expected a "email:send" job matching the predicate to be dispatched')
    expect(text).toContain('email:send on default')
    expect(out.status).toBe(1)
    // A Node process with a TypeScript loader: seconds on a busy machine, within its own limit.
  }, 60_000)
})
