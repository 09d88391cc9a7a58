import { afterEach, describe, expect, it } from 'vitest'
import { sqliteStore, type SqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { T0, newJob } from '../../../src/testing/contract/harness.js'

const opened: SqliteStore[] = []
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close()
})

describe('values written and read by the store\'s statements', () => {
  it('come back exactly: text of every width and size, integers past 32 bits, fractions, negatives, nulls', async () => {
    const store = sqliteStore()
    opened.push(store)
    const texts = ['', 'plain', 'é ñ ü', '日本語のテキスト', '👩‍💻 emoji 🚀', 'nul\u0000inside', 'x'.repeat(100_000), '€'.repeat(50_000)]
    const numbers = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, -(2 ** 53) + 1, 0.5, -1234.5678, 1e-300, 1.7e308]
    // Cut by code points: half a surrogate pair is not text.
    const cut = (t: string, n: number): string => Array.from(t).slice(0, n).join('')
    const jobs = texts.map((t, i) =>
      newJob({ id: `job-${cut(t, 8)}-${i}`, type: cut(t, 50) || 'empty', queue: `q-${cut(t, 4)}`, payload: { t, numbers }, priority: numbers[i] ?? 0, runAt: T0 + 0.25 }),
    )
    await store.insert({ now: T0 + 1, jobs })
    for (const j of jobs) {
      const back = await store.getJob(j.id)
      expect(back).toMatchObject({ id: j.id, type: j.type, queue: j.queue, payload: j.payload, priority: j.priority, runAt: T0 + 0.25 })
      expect(back?.finishedAt).toBeUndefined()
    }
    // Found again by their text, bound as a parameter.
    for (const j of jobs) expect((await store.listJobs({ type: j.type, queue: j.queue }, T0 + 1)).map((x) => x.id)).toEqual([j.id])
  })
})
