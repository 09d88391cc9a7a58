import { describe, expect, it } from 'vitest'
import { createQueue, encryptedCodec, job, memoryStore, type JobMeta } from '../../src/index.js'
import { storeBackend } from '../../src/core/define-store.js'
import { checkRecord } from '../../src/core/codec.js'
import { META_MAX_KEYS, META_MAX_LENGTH } from '../../src/core/job-spec.js'
import type { StoredJob } from '../../src/core/store.js'
import { newJob } from '../../src/testing/contract/harness.js'
import { aesKey } from './codec-scenarios.js'

const stored = (extra: Record<string, unknown>): StoredJob =>
  ({ ...newJob({ id: 'm' }), seq: 1, state: 'waiting', attempt: 0, createdAt: 0, ...extra }) as unknown as StoredJob

describe('the record check of metadata and versions', () => {
  it('leaves out damaged metadata and marks the record unreadable, as for other damaged fields', () => {
    const damaged: unknown[] = ['text', 42, null, [], ['a'], { a: null }, { a: { b: 1 } }, { a: Number.NaN }, { a: [1] }, new Date(0)]
    for (const meta of damaged) {
      const checked = checkRecord(stored({ meta }))
      expect(checked.unreadable, JSON.stringify(meta)).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD', message: expect.stringMatching(/job m .*meta/) as unknown })
      expect(checked).not.toHaveProperty('meta')
    }
    const fine = stored({ meta: { userId: 'u1', n: 1.5, ok: false, empty: '' } })
    expect(checkRecord(fine)).toBe(fine)
  })

  it('leaves out stored metadata over the limits of a dispatch, or with the key __proto__, and marks the record unreadable', () => {
    const many = Object.fromEntries(Array.from({ length: META_MAX_KEYS + 1 }, (_, i) => [`k${i}`, i]))
    const long = { note: 'x'.repeat(META_MAX_LENGTH) }
    const proto = JSON.parse('{"userId":"u1","__proto__":"x"}') as unknown
    expect(Object.keys(proto as object)).toContain('__proto__')
    for (const meta of [many, long, proto]) {
      const checked = checkRecord(stored({ meta }))
      expect(checked.unreadable, Object.keys(meta as object).length.toString()).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD', message: expect.stringMatching(/job m .*meta/) as unknown })
      expect(checked).not.toHaveProperty('meta')
    }
    // At the limits, it is read as it is.
    const keys = Object.fromEntries(Array.from({ length: META_MAX_KEYS }, (_, i) => [`k${i}`, i]))
    const filler = META_MAX_LENGTH - JSON.stringify({ note: '' }).length
    for (const meta of [keys, { note: 'x'.repeat(filler) }]) {
      expect(JSON.stringify(meta).length).toBeLessThanOrEqual(META_MAX_LENGTH)
      const fine = stored({ meta })
      expect(checkRecord(fine)).toBe(fine)
    }
  })

  it('leaves out a version that is not a string and marks the record unreadable', () => {
    for (const key of ['dispatchedBy', 'processedBy']) {
      for (const v of [1, null, {}, ['1.0']]) {
        const checked = checkRecord(stored({ [key]: v }))
        expect(checked.unreadable, `${key} ${JSON.stringify(v)}`).toMatchObject({ code: 'CORRUPT_RECORD', message: expect.stringContaining(key) as unknown })
        expect(checked).not.toHaveProperty(key)
      }
    }
    const fine = stored({ dispatchedBy: '1.0.0', processedBy: '1.0.1' })
    expect(checkRecord(fine)).toBe(fine)
  })

  it('fails a claimed job whose stored metadata is damaged, without running it, and lists it without the metadata', async () => {
    const store = memoryStore()
    const queue = createQueue({ store })
    const ran: unknown[] = []
    queue.register('t', (p) => void ran.push(p))
    const bad = await queue.dispatch(job('t', 'bad').meta({ a: 'b' }))
    await queue.dispatch(job('t', 'good').meta({ a: 'b' }))
    await storeBackend(store)!.write(async (tx) => {
      const j = (await tx.getJob(bad.id))!
      await tx.putJob({ ...j, meta: { a: { nested: true } } as unknown as JobMeta })
    })
    const listed = await queue.getJob(bad.id)
    expect(listed).not.toHaveProperty('meta')
    expect(listed?.unreadable).toMatchObject({ code: 'CORRUPT_RECORD' })
    await queue.drain()
    expect(ran).toEqual(['good'])
    expect(await queue.getJob(bad.id)).toMatchObject({ state: 'failed', error: { code: 'CORRUPT_RECORD' } })
    await queue.close()
  })
})

describe('metadata with a codec', () => {
  it('is stored as it is, readable without the key, and given back as it was', async () => {
    const store = memoryStore()
    const queue = createQueue({ store, codec: encryptedCodec(await aesKey()), version: '2.0.0' })
    const seen: Array<JobMeta | undefined> = []
    queue.register('t', (_p, ctx) => void seen.push(ctx.meta))
    const { id } = await queue.dispatch(job('t', { secret: 's' }).meta({ userId: 'u1', n: 3 }))
    await queue.chain(job('t', 1).meta({ userId: 'u1' })).onSuccess(job('t', 2)).dispatch()
    const raw = await store.getJob(id)
    expect(raw?.meta).toEqual({ userId: 'u1', n: 3 })
    expect(raw?.dispatchedBy).toBe('2.0.0')
    expect(raw?.payload).not.toEqual({ secret: 's' })
    expect(await queue.getJob(id)).toMatchObject({ payload: { secret: 's' }, meta: { userId: 'u1', n: 3 }, dispatchedBy: '2.0.0' })
    await queue.drain()
    expect(seen).toEqual([{ userId: 'u1', n: 3 }, { userId: 'u1' }, { userId: 'u1' }])
    await queue.close()
  })
})
