import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createQueue } from '../../src/index.js'
import { tracing } from '../../src/otel/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { memoryTracing, parentOf, useAsyncContext } from './sdk.js'

const run = promisify(execFile)
const child = fileURLToPath(new URL('./fixtures/dispatch-child.ts', import.meta.url))

beforeAll(() => useAsyncContext())

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('tracing across a process restart', () => {
  it("runs a job dispatched by another process as a child of that process's dispatch span", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-otel-'))
    dirs.push(dir)
    const path = join(dir, 'jobs.db')
    const { stdout } = await run(process.execPath, ['--import', 'tsx', child, path], { timeout: 30_000 })
    const dispatched = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { id: string; traceId: string; spanId: string }

    const sdk = memoryTracing()
    const queue = createQueue({ store: sqliteStore({ path }), instrumentation: [tracing({ tracer: sdk.tracer })] })
    const done = new Promise<void>((resolve) =>
      queue.events.subscribe((e) => {
        if (e.kind === 'job:succeeded' && e.jobId === dispatched.id) resolve()
      }),
    )
    queue.register('report', async () => undefined)
    await queue.start()
    await done
    await queue.close()

    const [attempt, ...more] = sdk.named('ferry.job report')
    expect(more).toEqual([])
    expect(attempt?.attributes['ferry.job.id']).toBe(dispatched.id)
    expect(attempt?.spanContext().traceId).toBe(dispatched.traceId)
    expect(parentOf(attempt!)).toBe(dispatched.spanId)
    expect(attempt?.parentSpanContext?.isRemote).toBe(true)
  })
})
