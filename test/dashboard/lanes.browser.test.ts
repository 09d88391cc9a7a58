/**
 * The dashboard's reads when a queue hangs: another queue is read at once, never behind it,
 * and a message of any size stays a banner, not a page.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { FerryDashboard, type DashboardQueue } from '../../src/dashboard/index.js'
import type { Counts } from '../../src/core/types.js'
import { WAIT, countOf, counts, fake, one } from './setup.js'

const mounted: HTMLElement[] = []
function mount(q: DashboardQueue): FerryDashboard {
  const el = document.createElement('ferry-dashboard')
  el.queue = q
  document.body.append(el)
  mounted.push(el)
  return el
}
afterEach(() => mounted.splice(0).forEach((el) => el.remove()))

describe('<ferry-dashboard> reads', { timeout: 30_000 }, () => {
  it('reads a queue it switches to at once, not after a read of the previous one that hangs', async () => {
    const hung = fake([], { counts: () => new Promise<Counts>(() => {}) })
    const healthy = fake([], { counts: () => Promise.resolve(counts(7)) })
    const el = mount(hung)
    await new Promise((r) => setTimeout(r, 300))
    el.queue = healthy
    // Well before the 10 s after which the hung read is given up.
    await expect.poll(() => countOf(el, 'waiting'), { timeout: 3_000, interval: 25 }).toBe('7')
  })

  it('keeps at most one read in flight per queue through remounts while it hangs', async () => {
    let inFlight = 0
    let most = 0
    const q = fake([], {
      counts: () => {
        most = Math.max(most, ++inFlight)
        return new Promise<Counts>((r) => setTimeout(() => (inFlight--, r(counts(3))), 300))
      },
    })
    const el = mount(q)
    for (let i = 0; i < 50; i++) {
      el.remove()
      document.body.append(el)
    }
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('3')
    expect(most).toBe(1)
  })

  it('cuts a huge error message short', async () => {
    const q = fake([], { counts: () => Promise.resolve(counts(0)) })
    const el = mount(q)
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('0')
    q.emit({ kind: 'queue:error', at: 1, error: { name: 'Error', message: 'x'.repeat(200_000) } })
    await expect.poll(() => one(el, '[part~=error-text]')?.textContent?.length ?? 0, WAIT).toBeGreaterThan(0)
    expect(one(el, '[part~=error-text]')?.textContent?.length).toBeLessThan(600)
    expect(one(el, '[part~=error]')?.getBoundingClientRect().height).toBeLessThan(300)
  })
})
