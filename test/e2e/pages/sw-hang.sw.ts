/** A service worker whose install never finishes: its registration never gets an active worker. */
const scope = globalThis as unknown as {
  addEventListener(type: string, l: (e: Event & { waitUntil(p: Promise<unknown>): void }) => void): void
}
scope.addEventListener('install', (e) => e.waitUntil(new Promise(() => {})))
