/**
 * A dedicated worker of the outbox page that reports what it sees of the network: its
 * `navigator.onLine` when asked, and each `online` / `offline` event as it comes.
 */
const scope = globalThis as unknown as {
  postMessage(m: unknown): void
  addEventListener(type: string, l: (e: MessageEvent) => void): void
}
scope.addEventListener('online', () => scope.postMessage({ event: 'online' }))
scope.addEventListener('offline', () => scope.postMessage({ event: 'offline' }))
scope.addEventListener('message', () => scope.postMessage({ onLine: navigator.onLine }))
scope.postMessage({ ready: true })
