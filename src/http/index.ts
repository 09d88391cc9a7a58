/**
 * ferry/http: an outbox of requests. `request()` makes a job that sends one HTTP request;
 * `httpHandler()` sends it with the job id as `Idempotency-Key`, honours `Retry-After`, and keeps
 * the answer as the job's result.
 *
 * @example
 * queue.register('http', httpHandler(), { network: 'online' })
 * await queue.dispatch(request({ url: '/api/notes', method: 'POST', body: { text: 'hi' } }))
 *
 * @module ferry/http
 */
export { request } from './request.js'
export type { HttpJobs, RequestSpec } from './request.js'
export { classifyStatus, httpHandler, retryAfterMs } from './handler.js'
export type { HttpHandlerOptions, HttpResult, Verdict } from './handler.js'
export type { StoredBytes } from './bytes.js'
