/**
 * ferry/workers: run a queue in a dedicated Worker or a Node worker_thread and drive it from
 * the page or main thread; share one hosted queue between the tabs of an origin; drain an
 * outbox in a service worker on Background Sync. Built on comlink; errors keep their class and
 * code across.
 *
 * @module ferry/workers
 */
export { exposeQueue } from './expose.js'
export { connectQueue } from './connect.js'
export type { ClientBatchBuilder, ClientChainBuilder, ClientOptions, QueueClient } from './client.js'
export { shareQueue } from './tabs.js'
export type { SharedQueue, ShareQueueOptions } from './tabs.js'
export { DEFAULT_SYNC_TAG, SYNC_INCOMPLETE, serviceWorkerHost } from './service-worker.js'
export type { DrainMessage, ServiceWorkerHostOptions } from './service-worker.js'
export { requestBackgroundSync } from './background-sync.js'
