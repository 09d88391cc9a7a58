import { describe, expect, it } from 'vitest'
import { preview } from '../../src/dashboard/job-table.js'

describe('preview: a progress value as JSON, cut short', () => {
  it('writes what JSON.stringify writes for small values', () => {
    for (const v of [{ a: 1, b: [true, null, 'x'], c: { d: 'e' } }, [1, 2], 'text', 3, { at: new Date(0) }]) {
      expect(preview(v, 2000)).toBe(JSON.stringify(v))
    }
    expect(preview({ f: () => 1, u: undefined, n: NaN }, 2000)).toBe('{"n":null}')
  })

  it('stops at the limit, however large the value, and marks the cut', () => {
    let reads = 0
    const huge = Array.from({ length: 100_000 }, (_, i) => ({ get i() { return (reads++, i) } }))
    const text = preview(huge, 100)
    expect(text).toHaveLength(101)
    expect(text.endsWith('…')).toBe(true)
    expect(reads).toBeLessThan(20)
  })

  it('shows cycles and bigints instead of throwing', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic['self'] = cyclic
    expect(preview(cyclic, 2000)).toBe('{"a":1,"self":"(circular)"}')
    expect(preview({ n: 10n }, 2000)).toBe('{"n":10}')
  })
})
