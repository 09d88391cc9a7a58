import type { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { request, type HttpJobs } from '../../src/http/index.js'
import { connectQueue } from '../../src/workers/index.js'
import { tsWorker } from '../workers/fixtures/spawn.js'
import { startTestServer, type LoggedRequest, type TestServer } from './server.js'

let server: TestServer
beforeAll(async () => {
  server = await startTestServer()
})
afterAll(() => server.close())

// The worker compiles TypeScript on the way in: seconds on a busy machine.
describe('an outbox hosted in a Node worker_thread', { timeout: 60_000 }, () => {
  let worker: Worker | undefined
  afterAll(() => worker?.terminate())

  it('sends a Blob body given on the main thread byte for byte', async () => {
    worker = tsWorker(new URL('./fixtures/http-host.ts', import.meta.url))
    const queue = connectQueue<HttpJobs>(worker)
    try {
      const ns = `worker-${Date.now()}`
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
      const { id } = await queue.dispatch(request({ url: `${server.url}/${ns}/echo`, method: 'PUT', body: new Blob([bytes], { type: 'image/png' }) }))
      const done = await vi.waitFor(
        async () => {
          const j = await queue.getJob(id)
          if (j?.state !== 'succeeded' && j?.state !== 'failed') throw new Error(`job ${id} is ${j?.state}`)
          return j
        },
        { timeout: 30_000, interval: 50 },
      )
      expect(done).toMatchObject({ state: 'succeeded', result: { status: 200 } })
      const seen = (await (await fetch(`${server.url}/_log/${ns}`)).json()) as LoggedRequest[]
      expect(seen).toEqual([expect.objectContaining({ method: 'PUT', base64: Buffer.from(bytes).toString('base64'), headers: expect.objectContaining({ 'content-type': 'image/png' }) as unknown })])
    } finally {
      await queue.close()
    }
  })
})
