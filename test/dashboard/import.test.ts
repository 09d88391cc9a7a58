import { describe, expect, it } from 'vitest'

describe('ferry/dashboard outside a browser', () => {
  it('imports in Node without custom elements, and defining is a no-op there', async () => {
    expect(typeof (globalThis as { customElements?: unknown }).customElements).toBe('undefined')
    const { FerryDashboard, defineDashboard } = await import('../../src/dashboard/index.js')
    expect(typeof FerryDashboard).toBe('function')
    expect(() => defineDashboard()).not.toThrow()
    expect(() => defineDashboard('my-dashboard')).not.toThrow()
  })
})
