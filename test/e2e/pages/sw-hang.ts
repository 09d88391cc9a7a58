/**
 * A page whose service worker never finishes installing. Driven by test/e2e/sw-outbox.test.ts
 * through `window.swHang`.
 */
import { requestBackgroundSync } from '../../../src/workers/index.js'

const api = {
  /** Registers the service worker, then asks for a sync: what that answered, or 'pending' after `ms`. */
  async requestSync(ms: number): Promise<boolean | 'pending'> {
    await navigator.serviceWorker.register(new URL('./sw-hang.sw.ts', import.meta.url), { type: 'module' })
    return Promise.race([requestBackgroundSync({ tag: 'outbox' }), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))])
  },
  /** Whether the registration is still installing. */
  installing: async () => (await navigator.serviceWorker.getRegistration())?.installing?.state,
}

export type SwHangApi = typeof api
;(window as unknown as { swHang: SwHangApi }).swHang = api
;(window as unknown as { e2eReady: boolean }).e2eReady = true
