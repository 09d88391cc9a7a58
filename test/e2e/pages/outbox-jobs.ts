/**
 * The outbox of the offline e2e pages: an upload job whose handler PUTs its body to the e2e
 * server (`/e2e/upload/<id>`, counted there per id). Shared by the pages and the service worker.
 */
import type { Queue } from '../../../src/index.js'

/** `hold`: the server answers that many ms late. */
export type Upload = { id: string; body: string; hold?: number }

export type OutboxJobs = {
  /** `id` is the upload's id and the job's (`withId`), so the server counts each job once per request. */
  upload: Upload
  /** The same upload with no network mode: a control that spends its attempts offline. */
  'upload:always': Upload
}

/** One run of the handler, as the context that ran it saw it. */
export interface Attempt {
  id: string
  type: string
  attempt: number
  where: string
  onLine: boolean
}

/** The job's result: what the server answered, and where the upload ran. */
export interface UploadResult {
  id: string
  /** The requests of this id the server had received, this one included. */
  n: number
  where: string
}

/** Registers the upload handlers on `queue`; `where` names the context, `seen` hears each attempt. */
export function registerUploads(queue: Queue<OutboxJobs>, where: string, seen: (a: Attempt) => void): void {
  const upload = async ({ id, body, hold }: Upload, ctx: { type: string; attempt: number; signal: AbortSignal }): Promise<UploadResult> => {
    seen({ id, type: ctx.type, attempt: ctx.attempt, where, onLine: navigator.onLine })
    const query = hold === undefined ? '' : `?hold=${hold}`
    const res = await fetch(`/e2e/upload/${encodeURIComponent(id)}${query}`, { method: 'PUT', body, signal: ctx.signal })
    if (!res.ok) throw new Error(`upload ${id} answered ${res.status}`)
    return { ...((await res.json()) as { id: string; n: number }), where }
  }
  queue.register('upload', upload, { network: 'online' })
  queue.register('upload:always', upload)
}
