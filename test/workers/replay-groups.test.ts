import type { Worker } from 'node:worker_threads'
import { lastValueFrom } from 'rxjs'
import { afterEach, describe, expect, it } from 'vitest'
import { NotFoundError, QueueError, job } from '../../src/index.js'
import { batch$, chain$ } from '../../src/observable/index.js'
import { connectQueue, type QueueClient } from '../../src/workers/index.js'
import type { ReplayJobs } from './fixtures/replay-host.js'
import { tsWorker } from './fixtures/spawn.js'

const host = new URL('./fixtures/replay-host.ts', import.meta.url)

// The worker compiles TypeScript on the way in: seconds on a busy machine.
describe('replayChain and replayBatch through a QueueClient', { timeout: 60_000 }, () => {
  let worker: Worker | undefined
  let client: QueueClient<ReplayJobs> | undefined
  afterEach(async () => {
    await client?.close()
    await worker?.terminate()
    client = undefined
    worker = undefined
  })
  const open = (): QueueClient<ReplayJobs> => {
    worker = tsWorker(host)
    client = connectQueue<ReplayJobs>(worker)
    return client
  }
  const notes = async (q: QueueClient<ReplayJobs>): Promise<string[]> =>
    (await q.listJobs({ type: 'note' })).map((j) => (j.payload as { on: string }).on).sort()

  it('replays a failed chain in the worker: it runs again from its failed step and its callbacks are enqueued once more', async () => {
    const q = open()
    const id = await q
      .chain(job('flaky', { name: 'a' }))
      .onSuccess(job('note', { on: 'success' }))
      .onError(job('note', { on: 'error' }))
      .onSettled(job('note', { on: 'settled' }))
      .dispatch()
    expect(await lastValueFrom(chain$(q, id))).toMatchObject({ id, state: 'failed' })
    expect(await notes(q)).toEqual(['error', 'settled'])
    worker?.postMessage({ fix: true })
    await q.replayChain(id)
    // A finished chain's chain$ completes: the replayed run is watched anew.
    expect(await lastValueFrom(chain$(q, id))).toMatchObject({ id, state: 'succeeded' })
    expect(await notes(q)).toEqual(['error', 'settled', 'settled', 'success'])
    const again = await q.replayChain(id).catch((e: unknown) => e)
    expect(again).toBeInstanceOf(QueueError)
    expect(again).toMatchObject({ code: 'INVALID_STATE' })
    expect(await q.replayChain('nope').catch((e: unknown) => e)).toBeInstanceOf(NotFoundError)
  })

  it('replays a failed batch in the worker: its failed jobs run again and it succeeds', async () => {
    const q = open()
    const id = await q
      .batch(job('flaky', { name: 'a' }), job('flaky', { name: 'b' }))
      .onSuccess(job('note', { on: 'success' }))
      .onSettled(job('note', { on: 'settled' }))
      .dispatch()
    expect(await lastValueFrom(batch$(q, id))).toMatchObject({ id, state: 'failed', pending: 0 })
    worker?.postMessage({ fix: true })
    await q.replayBatch(id)
    expect(await lastValueFrom(batch$(q, id))).toMatchObject({ state: 'succeeded', succeeded: 2, failed: 0, cancelled: 0 })
    expect(await notes(q)).toEqual(['settled', 'settled', 'success'])
    expect(await q.replayBatch('nope').catch((e: unknown) => e)).toBeInstanceOf(NotFoundError)
  })
})
