import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createQueue } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'

const dir = mkdtempSync(join(tmpdir(), 'ferry-claim-ahead-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('jobs claimed ahead when their process is killed', () => {
  it('run again without an attempt spent: none that never started fails', async () => {
    const path = join(dir, 'q.db')
    const script = fileURLToPath(new URL('./fixtures/claim-ahead-child.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', script, path], { stdio: ['ignore', 'pipe', 'pipe'] })
    const seen = new Set<number>()
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()))
    await new Promise<void>((resolve, reject) => {
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        for (const m of d.matchAll(/S(\d+)/g)) seen.add(Number(m[1]))
        if (seen.size >= 60) resolve()
      })
      void exited.then(() => reject(new Error(`the engine exited before it was killed: ${err}`)))
    })
    child.kill('SIGKILL')
    await exited

    const queue = createQueue({ store: sqliteStore({ path }), concurrency: 2 })
    const attempts = new Map<number, number>()
    queue.register('t', (p, ctx) => void attempts.set((p as { i: number }).i, ctx.attempt))
    const buffered = (await queue.listJobs({ state: 'active', limit: 1000 })).filter((j) => !seen.has((j.payload as { i: number }).i))
    await queue.drain()
    const real = (await queue.listJobs({ limit: 10_000 })).filter((j) => (j.payload as { phase: string }).phase === 'real')
    await queue.close()
    // Jobs were held ahead of the two slots when the process died.
    expect(buffered.length).toBeGreaterThan(2)
    // A handler may start and have its start counted between printing its line and the kill:
    // at most one per slot is not known to have started.
    const failedUnseen = real.filter((j) => j.state === 'failed' && !seen.has((j.payload as { i: number }).i))
    expect(failedUnseen.length).toBeLessThanOrEqual(2)
    const againUnseen = [...attempts].filter(([i, attempt]) => !seen.has(i) && attempt > 1)
    expect(againUnseen.length).toBeLessThanOrEqual(2)
    expect(real.every((j) => j.state === 'succeeded' || j.state === 'failed')).toBe(true)
  }, 60_000)
})
