import { describe, expect, it } from 'vitest'
import { InvalidArgumentError, SerializationError, createQueue, encryptedCodec, job, memoryStore, type Codec, type Store } from '../../src/index.js'
import { storeBackend } from '../../src/core/define-store.js'
import { checkRecord, withCodec, withRecordChecks } from '../../src/core/codec.js'
import type { StoredJob } from '../../src/core/store.js'
import { newJob } from '../../src/testing/contract/harness.js'
import { aesKey, codecScenarios, until } from './codec-scenarios.js'

/** Everything a memory store holds: its jobs, schedules, chains and batches, as stored. */
async function dump(store: Store): Promise<string> {
  const jobs = await store.listJobs({ limit: 10_000 }, Date.now())
  const backend = storeBackend(store)
  if (!backend) throw new Error('not a defineStore store')
  const groups = await backend.read(async (tx) => {
    const out: unknown[] = []
    for (const id of new Set(jobs.map((j) => j.chainId).filter((id) => id !== undefined))) out.push(await tx.getChain(id))
    for (const id of new Set(jobs.map((j) => j.batchId).filter((id) => id !== undefined))) out.push(await tx.getBatch(id))
    return out
  })
  return JSON.stringify({ jobs, groups, schedules: await store.listSchedules() })
}

codecScenarios('the memory store', () => {
  const store = memoryStore()
  // Each queue of a test closes its store: the memory store's data would go with it.
  return { open: () => ({ ...store, close: async () => undefined }), raw: () => dump(store) }
})

describe('encryptedCodec', () => {
  it('refuses a key that is not an AES-GCM key usable to encrypt and decrypt', async () => {
    const cbc = await crypto.subtle.generateKey({ name: 'AES-CBC', length: 256 }, false, ['encrypt', 'decrypt'])
    const encryptOnly = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt'])
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    for (const key of [undefined, null, 'secret', {}, cbc, encryptOnly, hmac]) {
      expect(() => encryptedCodec(key as CryptoKey)).toThrow(InvalidArgumentError)
    }
  })

  it('accepts a key imported from raw bytes', async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(32))
    const key = await crypto.subtle.importKey('raw', bytes, 'AES-GCM', false, ['encrypt', 'decrypt'])
    const codec = encryptedCodec(key)
    expect(await codec.decode(await codec.encode({ a: [1, 'two', null, true] }))).toEqual({ a: [1, 'two', null, true] })
  })

  it('encrypts each value with a fresh IV into a prefixed string', async () => {
    const codec = encryptedCodec(await aesKey())
    const a = await codec.encode('same')
    const b = await codec.encode('same')
    expect(typeof a).toBe('string')
    expect(a).toMatch(/^ferry:aes-gcm:v1:[A-Za-z0-9+/]+=*$/)
    expect(a).not.toBe(b)
    expect(await codec.decode(a)).toBe('same')
    expect(await codec.decode(b)).toBe('same')
  })

  it('refuses what is not JSON and rejects what it did not write, or another key did', async () => {
    const codec = encryptedCodec(await aesKey())
    for (const v of [new Date(), new Map(), 1n, Number.NaN, [undefined], () => 1]) {
      await expect(codec.encode(v)).rejects.toThrow(SerializationError)
    }
    const other = encryptedCodec(await aesKey())
    const sealed = (await codec.encode({ x: 1 })) as string
    for (const stored of [{ x: 1 }, 'plain text', 'ferry:aes-gcm:v1:%%%', 'ferry:aes-gcm:v1:AAAA', await other.encode({ x: 1 })]) {
      await expect(codec.decode(stored)).rejects.toMatchObject({ name: 'SerializationError', code: 'DECODE_FAILED' })
    }
    // One changed character of the ciphertext fails the tag check.
    const i = sealed.length - 5
    const flipped = sealed.slice(0, i) + (sealed[i] === 'A' ? 'B' : 'A') + sealed.slice(i + 1)
    await expect(codec.decode(flipped)).rejects.toMatchObject({ code: 'DECODE_FAILED' })
  })
})

describe('a codec of its own', () => {
  /** Reverses JSON text; refuses (with a TypeError) any value whose JSON says "boom". */
  const reversing: Codec = {
    encode: async (v) => {
      const text = JSON.stringify(v)
      if (text.includes('boom')) throw new TypeError('cannot encode boom')
      return `rev:${[...text].reverse().join('')}`
    },
    decode: async (s) => JSON.parse([...(s as string).slice(4)].reverse().join('')) as unknown,
  }

  it('is given every payload, result and error message, and the store keeps what it makes', async () => {
    const store = memoryStore()
    const queue = createQueue({ store, codec: reversing })
    queue.register('echo', (p: unknown) => ({ echoed: p }))
    const { id } = await queue.dispatch(job('echo', { word: 'hello' }))
    await queue.start()
    try {
      await until(async () => (await queue.getJob(id))?.state === 'succeeded', 'the job runs')
      expect(await queue.getJob(id)).toMatchObject({ payload: { word: 'hello' }, result: { echoed: { word: 'hello' } } })
      expect(await store.getJob(id)).toMatchObject({ payload: 'rev:}"olleh":"drow"{', result: expect.stringMatching(/^rev:/) as unknown })
    } finally {
      await queue.close()
    }
  })

  it("turns a codec's failure to encode into SerializationError: the dispatch writes nothing, the result fails only its job", async () => {
    const queue = createQueue({ codec: reversing })
    await expect(queue.dispatch(job('echo', 'boom'))).rejects.toThrow(SerializationError)
    expect(await queue.listJobs()).toEqual([])
    // The payload's JSON is ["bo","om"]; the result's is "boom".
    queue.register('echo', (p: unknown) => (Array.isArray(p) ? p.join('') : p))
    const bad = await queue.dispatch(job('echo', ['bo', 'om']).retry(0))
    const ok = await queue.dispatch(job('echo', 'fine'))
    await queue.start()
    try {
      await until(async () => (await queue.counts()).succeeded === 1 && (await queue.counts()).failed === 1, 'one fails and one succeeds')
      // Its error says "boom" too: the codec refuses it as well, and the job still ends.
      expect(await queue.getJob(bad.id)).toMatchObject({ state: 'failed', error: { name: 'SerializationError', message: expect.stringMatching(/could not encode/) as unknown } })
      expect(await queue.getJob(ok.id)).toMatchObject({ state: 'succeeded', result: 'fine' })
    } finally {
      await queue.close()
    }
  })

  it('is refused without encode and decode functions', () => {
    expect(() => createQueue({ codec: {} as Codec })).toThrow(InvalidArgumentError)
  })
})

describe('the claim check of a queue without a codec', () => {
  it('fails a damaged job it claimed, claimed ahead or not, hands back the others, and asks to come back at once', async () => {
    const store = memoryStore()
    const jobs = ['a', 'b', 'c', 'd'].map((id) => newJob({ id, runAt: 0 }))
    await store.insert({ now: 1, jobs })
    const backend = storeBackend(store)!
    await backend.write(async (tx) => {
      for (const id of ['a', 'c']) {
        const j = (await tx.getJob(id))!
        await tx.putJob({ ...j, maxAttempts: undefined as never })
      }
    })
    const checked = withRecordChecks(store)
    const claim = { owner: 'o', token: 't1', queues: ['default'], types: ['t'], limit: 2, ahead: 2, leaseUntil: 100 }
    const out = await checked.settleAndClaim({ now: 10, settle: [], claim })
    expect(out.claimed.map((j) => j.id)).toEqual(['b', 'd'])
    expect(out.nextWakeAt).toBe(10)
    expect(out.events.filter((e) => e.kind === 'job:failed').map((e) => 'jobId' in e && e.jobId)).toEqual(['a', 'c'])
    for (const id of ['a', 'c']) {
      expect(await checked.getJob(id)).toMatchObject({ state: 'failed', error: { name: 'SerializationError', code: 'CORRUPT_RECORD' } })
    }
    expect(await checked.getJob('b')).toMatchObject({ state: 'active' })
    expect((await checked.getJob('a'))?.unreadable?.message).toMatch(/job a .*maxAttempts/)
  })
})

describe('a codec that misbehaves', () => {
  const json: Codec = { encode: async (v) => JSON.stringify(v), decode: async (s) => JSON.parse(s as string) as unknown }

  it('keeps unique keys as given when it has no digest, and dedups with them', async () => {
    const store = memoryStore()
    const queue = createQueue({ store, codec: json })
    try {
      const a = await queue.dispatch(job('u', { n: 1 }).uniqueFor(60_000))
      expect(await queue.dispatch(job('u', { n: 1 }).uniqueFor(60_000))).toEqual({ id: a.id, duplicate: true })
      expect((await store.getJob(a.id))?.uniqueKey).toBe('u:{"n":1}')
    } finally {
      await queue.close()
    }
  })

  it('applies its digest to every unique key, derived or given', async () => {
    const store = memoryStore()
    const queue = createQueue({ store, codec: { ...json, digest: async (text: string) => `d(${text.length})` } })
    try {
      const a = await queue.dispatch(job('u', { n: 1 }).uniqueFor(60_000))
      const b = await queue.dispatch(job('u', { n: 2 }).uniqueFor(60_000, 'mine'))
      expect((await store.getJob(a.id))?.uniqueKey).toBe('d(9)')
      expect((await store.getJob(b.id))?.uniqueKey).toBe('d(4)')
    } finally {
      await queue.close()
    }
  })

  it('is refused with a digest that is not a function', () => {
    expect(() => createQueue({ codec: { ...json, digest: 'sha' } as unknown as Codec })).toThrow(InvalidArgumentError)
  })

  it('ends a job whose error it encodes into a value no store keeps, without the message', async () => {
    const fnForErrors: Codec = {
      encode: async (v) => (typeof v === 'object' && v !== null && 'message' in v ? () => 1 : JSON.stringify(v)),
      decode: async (s) => JSON.parse(s as string) as unknown,
    }
    const queue = createQueue({ codec: fnForErrors })
    queue.register('t', (p: unknown) => {
      if ((p as { fail?: boolean }).fail) throw new Error('HIDDEN-MESSAGE')
      return 'ok'
    })
    const bad = await queue.dispatch(job('t', { fail: true }).retry(1).backoff(1))
    const ok = await queue.dispatch(job('t', {}))
    await queue.start()
    try {
      await until(async () => (await queue.counts()).failed === 1 && (await queue.counts()).succeeded === 1, 'both jobs end')
      const j = await queue.getJob(bad.id)
      expect(j).toMatchObject({ state: 'failed', attempt: 2, error: { name: 'Error', message: expect.stringMatching(/could not encode/) as unknown } })
      expect(JSON.stringify(j)).not.toContain('HIDDEN-MESSAGE')
      expect(await queue.getJob(ok.id)).toMatchObject({ state: 'succeeded', result: 'ok' })
    } finally {
      await queue.close({ timeoutMs: 100 })
    }
  })

  it('fails with SerializationError a result it encodes into a value no store keeps', async () => {
    const symbolForResults: Codec = {
      encode: async (v) => (v === 'result' ? { s: Symbol('x') } : JSON.stringify(v)),
      decode: async (s) => JSON.parse(s as string) as unknown,
    }
    const queue = createQueue({ codec: symbolForResults })
    queue.register('t', () => 'result')
    await expect(queue.dispatch(job('t', 'result'))).rejects.toThrow(SerializationError)
    const { id } = await queue.dispatch(job('t', {}).retry(0))
    await queue.start()
    try {
      await until(async () => (await queue.counts()).failed === 1, 'the job fails')
      expect(await queue.getJob(id)).toMatchObject({ state: 'failed', error: { name: 'SerializationError' } })
    } finally {
      await queue.close({ timeoutMs: 100 })
    }
  })

  it('keeps the progress writes of a job in call order when its calls overlap, so the last call wins', async () => {
    const slow: Codec = {
      encode: async (v) => {
        await new Promise((r) => setTimeout(r, Math.random() * 20))
        return JSON.stringify(v)
      },
      decode: async (s) => {
        await new Promise((r) => setTimeout(r, Math.random() * 20))
        return JSON.parse(s as string) as unknown
      },
    }
    const queue = createQueue({ codec: slow, concurrency: 4 })
    const heard = new Map<string, unknown[]>()
    queue.events.subscribe((e) => {
      if (e.kind === 'job:progress') heard.set(e.jobId, [...(heard.get(e.jobId) ?? []), e.progress])
    })
    queue.register('t', async (_p: unknown, ctx) => {
      await Promise.all([1, 2, 3, 4, 5].map((n) => ctx.progress(n)))
      return 'done'
    })
    const ids = await Promise.all(Array.from({ length: 8 }, () => queue.dispatch(job('t', {}))))
    await queue.start()
    try {
      await until(async () => (await queue.counts()).succeeded === 8, 'the jobs succeed', 20_000)
      for (const { id } of ids) {
        expect((await queue.getJob(id))?.progress).toBe(5)
        expect(heard.get(id)).toEqual([1, 2, 3, 4, 5])
      }
    } finally {
      await queue.close({ timeoutMs: 100 })
    }
  }, 30_000)

  it('fails a claimed job whose decode never settles, and ends a settlement whose encode never settles', async () => {
    const never = new Promise<never>(() => undefined)
    const hanging: Codec = {
      encode: async (v) => {
        if (JSON.stringify(v).includes('hang')) return never
        return JSON.stringify(v)
      },
      decode: async (s) => {
        if ((s as string).includes('hang')) return never
        return JSON.parse(s as string) as unknown
      },
    }
    const raw = memoryStore()
    const store = withCodec(raw, hanging, 50)
    // Stored without the codec, as a queue with it would have: its decode never settles.
    await raw.insert({ now: 1, jobs: [newJob({ id: 'h', runAt: 0, payload: '"hang"', maxAttempts: 1 }), newJob({ id: 'ok', runAt: 0, payload: '"x"', maxAttempts: 1 })] })
    const claim = { owner: 'o', token: 't1', queues: ['default'], types: ['t'], limit: 2, leaseUntil: 1_000_000 }
    const out = await store.settleAndClaim({ now: 10, settle: [], claim })
    expect(out.claimed.map((j) => j.id)).toEqual(['ok'])
    // Read as stored: a read through the codec would wait for the decode that never settles.
    expect(await raw.getJob('h')).toMatchObject({ state: 'failed', error: { name: 'SerializationError', code: 'CODEC_TIMEOUT' } })
    // An error whose encode never settles ends its job without its message.
    await store.settleAndClaim({
      now: 20,
      settle: [{ id: 'ok', token: 't1', outcome: { kind: 'failed', error: { name: 'Error', message: 'hang' }, unrecoverable: true } }],
    })
    expect(await store.getJob('ok')).toMatchObject({ state: 'failed', error: { name: 'Error', message: expect.stringMatching(/could not encode/) as unknown } })
    // A result whose encode never settles is a SerializationError, as a value no store keeps.
    await raw.insert({ now: 30, jobs: [newJob({ id: 'r', runAt: 0, payload: '"x"' })] })
    await store.settleAndClaim({ now: 40, settle: [], claim: { ...claim, token: 't2' } })
    await expect(store.settleAndClaim({ now: 50, settle: [{ id: 'r', token: 't2', outcome: { kind: 'succeeded', result: 'hang' } }] })).rejects.toThrow(SerializationError)
  })
})

describe('the record check', () => {
  it('marks a job whose stored error is not an error unreadable, and leaves the error out', () => {
    const j = { ...newJob({ id: 'e' }), seq: 1, state: 'failed', attempt: 1, createdAt: 0, error: 'plain text' } as unknown as StoredJob
    const checked = checkRecord(j)
    expect(checked.unreadable).toMatchObject({ name: 'SerializationError', code: 'CORRUPT_RECORD', message: expect.stringMatching(/job e .*error/) as unknown })
    expect(checked).not.toHaveProperty('error')
    const fine = { ...j, error: { name: 'Error', message: 'm' } } as StoredJob
    expect(checkRecord(fine)).toBe(fine)
  })
})

describe('a schedule read with a wrong key', () => {
  it('is listed by the store without its payload and marked unreadable, and read in full with the right key', async () => {
    const raw = memoryStore()
    const right = encryptedCodec(await aesKey())
    const schedule = { name: 'nightly', when: '0 3 * * *', catchUp: 'once' as const, job: { type: 't', queue: 'default', payload: { n: 1 }, priority: 0, maxAttempts: 1, backoff: 1000 }, nextRunAt: 10, createdAt: 1, updatedAt: 1 }
    await withCodec(raw, right).putSchedule({ now: 1, schedule })
    const [wrong] = await withCodec(raw, encryptedCodec(await aesKey())).listSchedules()
    expect(wrong?.job.payload).toBeUndefined()
    expect((wrong as { unreadable?: unknown }).unreadable).toMatchObject({ name: 'SerializationError', code: 'DECODE_FAILED', message: expect.stringMatching(/nightly/) as unknown })
    const [back] = await withCodec(raw, right).listSchedules()
    expect(back?.job.payload).toEqual({ n: 1 })
    expect(back).not.toHaveProperty('unreadable')
  })
})
