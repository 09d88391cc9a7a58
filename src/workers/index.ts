/**
 * ferry/workers: run a queue in a dedicated Worker or a Node worker_thread and drive it from
 * the page or main thread; share one hosted queue between the tabs of an origin. Built on
 * comlink; errors keep their class and code across.
 *
 * @module
 */
export { exposeQueue } from './expose.js'
export { connectQueue } from './connect.js'
export type { ClientBatchBuilder, ClientChainBuilder, QueueClient } from './client.js'
export { shareQueue } from './tabs.js'
export type { SharedQueue, ShareQueueOptions } from './tabs.js'
