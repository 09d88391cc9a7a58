/**
 * Encryption at rest on a real store: what is stored holds no plaintext of any payload, result,
 * progress value or error message; a wrong key fails jobs clearly and changes nothing stored;
 * a damaged record fails its job and leaves the others running. Shared by the Node test files
 * (memory store, SQLite file) and the Chromium one (IndexedDB).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, encryptedCodec, job, type JobRecord, type Queue, type QueueEvent, type QueueOptions, type Store } from '../../src/index.js'

export interface CodecTarget {
  /** A store on the target's data: the same data each time it is called in one test. */
  open(): Store
  /** Everything the storage holds, as text: rows, records, file bytes. */
  raw(): Promise<string>
}

export interface CorruptTarget extends CodecTarget {
  /** Damages the stored record of this job so it can no longer be read as a job. */
  corrupt(id: string): Promise<void>
}

export async function aesKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

/** Polls until `check` holds, for at most `ms` of real time. */
export async function until<T>(check: () => Promise<T | undefined | false>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const finished = (j: JobRecord | undefined): JobRecord | false =>
  j !== undefined && (j.state === 'succeeded' || j.state === 'failed' || j.state === 'cancelled') && j

export function codecScenarios(name: string, target: () => CodecTarget): void {
  describe(`encryptedCodec on ${name}`, () => {
    const queues: Queue[] = []
    const queueOn = (store: Store, o: Omit<QueueOptions, 'store'>): { queue: Queue; events: QueueEvent[] } => {
      const queue = createQueue({ ...o, store })
      const events: QueueEvent[] = []
      queue.events.subscribe((e) => events.push(e))
      queues.push(queue)
      return { queue, events }
    }
    afterEach(async () => {
      for (const q of queues.splice(0)) await q.close({ timeoutMs: 100 }).catch(() => undefined)
    })

    it('stores no plaintext of payloads, results, progress or error messages, and reads them all back', async () => {
      const t = target()
      const codec = encryptedCodec(await aesKey())
      const { queue, events } = queueOn(t.open(), { codec })
      let previous: unknown
      let groupError: unknown
      queue.register('s:ok', async (p: unknown, ctx) => {
        await ctx.progress({ note: 'PROGRESS-SECRET' })
        return { out: 'RESULT-SECRET', got: p }
      })
      queue.register('s:bad', () => {
        throw Object.assign(new Error('ERROR-SECRET'), { code: 'E_SECRET_CODE', detail: 'DATA-SECRET' })
      })
      queue.register('s:step', (_p: unknown, ctx) => {
        previous ??= ctx.previousResult
        return 'STEP-RESULT-SECRET'
      })
      queue.register('s:onError', (_p: unknown, ctx) => {
        groupError = ctx.error
      })
      await queue.dispatch(job('s:idle', { text: 'WAITING-SECRET' }))
      const ok = await queue.dispatch(job('s:ok', { text: 'PAYLOAD-SECRET' }))
      const bad = await queue.dispatch(job('s:bad', { text: 'FAILING-SECRET' }).retry(1).backoff(1))
      const chain = await queue
        .chain(job('s:step', { text: 'STEP1-SECRET' }), job('s:step', { text: 'STEP2-SECRET' }), job('s:bad', { text: 'STEP3-SECRET' }).retry(0))
        .onError(job('s:onError', { text: 'CALLBACK-SECRET' }))
        .dispatch()
      const batch = await queue.batch(job('s:ok', { text: 'BATCH-SECRET' })).onSettled(job('s:ok', { text: 'SETTLED-SECRET' })).dispatch()
      await queue.schedule('nightly', '0 3 * * *', job('s:idle', { text: 'SCHEDULE-SECRET' }))
      await queue.start()
      await until(async () => finished(await queue.getJob(ok.id)) && finished(await queue.getJob(bad.id)), 'the jobs finish')
      await until(async () => (await queue.findChain(chain)).state === 'failed' && groupError !== undefined, 'the chain fails and its onError runs')
      await until(async () => (await queue.findBatch(batch)).state === 'succeeded', 'the batch succeeds')
      await until(async () => (await queue.listJobs({ type: 's:ok', state: 'succeeded' })).length === 3, 'the batch callback runs')

      expect(await queue.getJob(ok.id)).toMatchObject({
        state: 'succeeded',
        payload: { text: 'PAYLOAD-SECRET' },
        result: { out: 'RESULT-SECRET', got: { text: 'PAYLOAD-SECRET' } },
        progress: { note: 'PROGRESS-SECRET' },
      })
      const failed = await queue.getJob(bad.id)
      expect(failed).toMatchObject({ state: 'failed', attempt: 2, error: { name: 'Error', code: 'E_SECRET_CODE', message: 'ERROR-SECRET', data: { detail: 'DATA-SECRET' } } })
      expect(failed?.error?.stack).toContain('ERROR-SECRET')
      expect(failed?.unreadable).toBeUndefined()
      expect(previous).toBe('STEP-RESULT-SECRET')
      expect(groupError).toMatchObject({ name: 'Error', message: 'ERROR-SECRET', code: 'E_SECRET_CODE' })
      expect((await queue.listJobs({ type: 's:idle' }))[0]?.payload).toEqual({ text: 'WAITING-SECRET' })
      expect((await queue.listSchedules())[0]).toMatchObject({ name: 'nightly' })
      // Events, as heard from the store, come decoded.
      expect(events).toContainEqual(expect.objectContaining({ kind: 'job:progress', jobId: ok.id, progress: { note: 'PROGRESS-SECRET' } }))
      expect(events).toContainEqual(expect.objectContaining({ kind: 'job:succeeded', jobId: ok.id, result: expect.objectContaining({ out: 'RESULT-SECRET' }) as unknown }))
      expect(events).toContainEqual(
        expect.objectContaining({ kind: 'job:retrying', jobId: bad.id, error: expect.objectContaining({ message: 'ERROR-SECRET' }) as unknown }),
      )
      expect(events).toContainEqual(
        expect.objectContaining({ kind: 'job:failed', jobId: bad.id, error: expect.objectContaining({ message: 'ERROR-SECRET', code: 'E_SECRET_CODE' }) as unknown }),
      )

      const raw = await t.raw()
      expect(raw).toContain(ok.id)
      expect(raw).toContain('E_SECRET_CODE')
      expect(raw.match(/[A-Z0-9-]*SECRET(?!_CODE)[A-Z0-9-]*/g) ?? []).toEqual([])
    }, 30_000)

    it('stores unique keys as keyed digests, never their text, and dedups across a reopen with the same key', async () => {
      const t = target()
      const codec = encryptedCodec(await aesKey())
      const first = queueOn(t.open(), { codec }).queue
      const derived = await first.dispatch(job('u:run', { text: 'UNIQUE-SECRET' }).uniqueFor(600_000))
      const given = await first.dispatch(job('u:run', { text: 'OTHER' }).uniqueFor(600_000, 'GIVEN-KEY-SECRET'))
      expect(await first.dispatch(job('u:run', { text: 'UNIQUE-SECRET' }).uniqueFor(600_000))).toEqual({ id: derived.id, duplicate: true })
      expect(await first.dispatch(job('u:run', { text: 'ANY' }).uniqueFor(600_000, 'GIVEN-KEY-SECRET'))).toEqual({ id: given.id, duplicate: true })
      const read = await first.getJob(derived.id)
      expect(read?.uniqueKey).toMatch(/^ferry:hmac-sha256:v1:/)
      await first.close()

      const raw = await t.raw()
      expect(raw).toContain(derived.id)
      expect(raw.match(/[A-Z0-9-]*SECRET[A-Z0-9-]*/g) ?? []).toEqual([])

      const again = queueOn(t.open(), { codec }).queue
      expect(await again.dispatch(job('u:run', { text: 'UNIQUE-SECRET' }).uniqueFor(600_000))).toEqual({ id: derived.id, duplicate: true })
      expect(await again.dispatch(job('u:run', { text: 'ANY' }).uniqueFor(600_000, 'GIVEN-KEY-SECRET'))).toEqual({ id: given.id, duplicate: true })
      expect((await again.dispatch(job('u:run', { text: 'UNIQUE-OTHER' }).uniqueFor(600_000))).duplicate).toBe(false)
      await again.close()

      // Another key makes other digests: its jobs do not collide with the first key's.
      const other = queueOn(t.open(), { codec: encryptedCodec(await aesKey()) }).queue
      expect((await other.dispatch(job('u:run', { text: 'UNIQUE-SECRET' }).uniqueFor(600_000))).duplicate).toBe(false)
    }, 30_000)

    it('refuses a value that is not JSON with SerializationError, writing nothing', async () => {
      const t = target()
      const { queue } = queueOn(t.open(), { codec: encryptedCodec(await aesKey()) })
      await expect(queue.dispatch(job('s:date', { at: new Date(0) }))).rejects.toMatchObject({ name: 'SerializationError' })
      await expect(queue.dispatch(job('s:map', new Map([[1, 2]])))).rejects.toMatchObject({ name: 'SerializationError' })
      expect(await queue.listJobs()).toEqual([])
    })

    it('fails a job whose result is not JSON with SerializationError, and the others succeed', async () => {
      const t = target()
      const { queue } = queueOn(t.open(), { codec: encryptedCodec(await aesKey()), concurrency: 4 })
      queue.register('r:date', () => new Date(0))
      queue.register('r:ok', (p: unknown) => p)
      const bad = await queue.dispatch(job('r:date', {}).retry(0))
      const ok = await Promise.all([1, 2, 3].map((n) => queue.dispatch(job('r:ok', { n }))))
      await queue.start()
      await until(async () => (await queue.counts()).succeeded === 3 && (await queue.counts()).failed === 1, 'three succeed and one fails')
      expect(await queue.getJob(bad.id)).toMatchObject({ state: 'failed', error: { name: 'SerializationError' } })
      for (const [i, d] of ok.entries()) expect(await queue.getJob(d.id)).toMatchObject({ state: 'succeeded', result: { n: i + 1 } })
    }, 30_000)

    it('fails the jobs a wrong key cannot decode without running them, and changes nothing stored', async () => {
      const t = target()
      const right = encryptedCodec(await aesKey())
      const first = queueOn(t.open(), { codec: right }).queue
      first.register('k:run', (p: unknown) => ({ echo: p }))
      const done = await first.dispatch(job('k:run', { text: 'DONE' }))
      await first.start()
      await until(async () => finished(await first.getJob(done.id)), 'the first job runs')
      await first.stop()
      const waiting = await first.dispatch(job('k:run', { text: 'WAITING' }))
      const chain = await first.chain(job('k:run', { text: 'C1' }), job('k:run', { text: 'C2' })).dispatch()
      const other = await first.dispatch(job('k:other', { text: 'OTHER' }))
      await first.schedule('k:nightly', '0 3 * * *', job('k:other', { text: 'NIGHTLY' }))
      await first.close()

      const wrong = queueOn(t.open(), { codec: encryptedCodec(await aesKey()) }).queue
      let ran = 0
      wrong.register('k:run', () => {
        ran++
      })
      await wrong.start()
      const failed = await until(async () => finished(await wrong.getJob(waiting.id)), 'the undecodable job is failed')
      await until(async () => (await wrong.findChain(chain)).state === 'failed', 'its chain fails')
      expect(ran).toBe(0)
      // The engine goes on with what it can read.
      const mine = await wrong.dispatch(job('k:run', { text: 'MINE' }))
      await until(async () => finished(await wrong.getJob(mine.id)), 'a job of the new key runs')
      expect(ran).toBe(1)
      expect(failed).toMatchObject({ state: 'failed', error: { name: 'SerializationError', code: 'DECODE_FAILED' } })
      expect(failed.error?.message).toContain(waiting.id)
      expect(failed.error?.message).toMatch(/key or codec/)
      expect(failed.payload).toBeUndefined()
      expect(failed.unreadable).toMatchObject({ code: 'DECODE_FAILED' })
      // Reads never throw: what cannot be decoded is left out and said so.
      const read = await wrong.getJob(done.id)
      expect(read).toMatchObject({ id: done.id, type: 'k:run', state: 'succeeded', unreadable: { name: 'SerializationError', code: 'DECODE_FAILED' } })
      expect(read?.payload).toBeUndefined()
      expect(read).not.toHaveProperty('result')
      expect(read?.unreadable?.message).toMatch(/payload, result/)
      expect((await wrong.listJobs()).length).toBe(6)
      expect(await wrong.listSchedules()).toEqual([expect.objectContaining({ name: 'k:nightly', payload: undefined })])
      await wrong.close()

      const again = queueOn(t.open(), { codec: right }).queue
      expect(await again.getJob(done.id)).toMatchObject({ payload: { text: 'DONE' }, result: { echo: { text: 'DONE' } } })
      expect(await again.getJob(other.id)).toMatchObject({ state: 'waiting', payload: { text: 'OTHER' } })
      expect(await again.listSchedules()).toEqual([expect.objectContaining({ name: 'k:nightly', payload: { text: 'NIGHTLY' } })])
      const back = await again.getJob(waiting.id)
      expect(back).toMatchObject({ state: 'failed', payload: { text: 'WAITING' }, error: { code: 'DECODE_FAILED' } })
      expect(back?.unreadable).toBeUndefined()
      for (const j of await again.listJobs()) expect(j.id === mine.id || j.unreadable === undefined).toBe(true)
    }, 30_000)
  })
}

/** A damaged record is failed with a clear error when claimed; the engine runs the others. */
export function corruptRecordScenarios(name: string, target: () => CorruptTarget): void {
  describe(`a damaged record on ${name}`, () => {
    it('is read with what is left, failed with CORRUPT_RECORD when claimed, and the others run', async () => {
      const t = target()
      const queue = createQueue({ store: t.open() })
      try {
        const ran: string[] = []
        queue.register('c:run', (p: unknown) => {
          ran.push((p as { n: number }).n.toString())
          return p
        })
        const ids = []
        for (let n = 0; n < 5; n++) ids.push((await queue.dispatch(job('c:run', { n }))).id)
        const bad = ids[2] as string
        await t.corrupt(bad)
        const listed = await queue.listJobs()
        expect(listed.length).toBe(5)
        expect(listed.find((j) => j.id === bad)?.unreadable).toMatchObject({ code: 'CORRUPT_RECORD' })
        expect((await queue.counts()).waiting).toBe(5)
        await queue.start()
        await until(async () => (await queue.counts()).succeeded === 4 && (await queue.counts()).failed === 1, 'four succeed and one fails')
        expect(ran.sort()).toEqual(['0', '1', '3', '4'])
        const j = await queue.getJob(bad)
        expect(j).toMatchObject({ id: bad, type: 'c:run', state: 'failed', error: { name: 'SerializationError', code: 'CORRUPT_RECORD' } })
        expect(j?.error?.message).toContain(bad)
        // The engine goes on with later jobs.
        const later = await queue.dispatch(job('c:run', { n: 9 }))
        await until(async () => finished(await queue.getJob(later.id)), 'a later job runs')
        expect((await queue.getJob(later.id))?.state).toBe('succeeded')
      } finally {
        await queue.close({ timeoutMs: 100 })
      }
    }, 30_000)
  })
}
