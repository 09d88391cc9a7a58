/**
 * `metrics()`: a queue's jobs as OpenTelemetry metrics, read from its events and counts, so it
 * works on a `Queue` and on a `QueueClient` of a queue hosted in a worker alike.
 *
 * @module
 */
import { metrics as otel, type Attributes, type Meter, type ObservableResult } from '@opentelemetry/api'
import type { Counts, QueueEvent, QueueLike } from '../core/types.js'

export interface MetricsOptions {
  /** @default metrics.getMeter('ferry') */
  meter?: Meter
}

interface Started {
  at: number
  type: string
  queue: string
}

/** Each event that ends an attempt, and the outcome it is recorded with. */
const ATTEMPT_ENDS: Partial<Record<QueueEvent['kind'], string>> = {
  'job:succeeded': 'succeeded',
  'job:failed': 'failed',
  'job:retrying': 'retrying',
  'job:deferred': 'deferred',
  'job:skipped': 'skipped',
  'job:cancelled': 'cancelled',
  'job:stalled': 'stalled',
}

/** How long a collection waits for `counts()`: a queue that does not answer is observed without. */
const COUNTS_WAIT_MS = 5_000

/** The events that leave a job finished for good. */
const FINISHED = new Set<QueueEvent['kind']>(['job:succeeded', 'job:failed', 'job:skipped', 'job:cancelled'])

/**
 * Records a queue's metrics until the returned function is called:
 * - `ferry.jobs.finished` (counter): jobs that reached a final state, by `ferry.job.type`,
 *   `ferry.job.outcome` and, when its start was seen, `ferry.job.queue`;
 * - `ferry.job.attempt.duration` (histogram, s): from `job:started` to the event that ended
 *   the attempt, by type, queue and outcome;
 * - `ferry.job.wait` (histogram, s): from when a job was ready to when its attempt started;
 * - `ferry.jobs` (observable gauge): jobs by `ferry.job.state`, from `counts()` at each
 *   collection; a collection whose `counts()` has not answered within 5 s (a worker that
 *   died, a store that hangs) observes none.
 * @example
 * const stop = metrics(queue)
 */
export function metrics(q: QueueLike, o: MetricsOptions = {}): () => void {
  const meter = o.meter ?? otel.getMeter('ferry')
  const finished = meter.createCounter('ferry.jobs.finished', { description: 'Jobs that reached a final state', unit: '{job}' })
  const duration = meter.createHistogram('ferry.job.attempt.duration', { description: 'How long attempts ran', unit: 's' })
  const wait = meter.createHistogram('ferry.job.wait', { description: 'How long ready jobs waited to start', unit: 's' })
  const jobs = meter.createObservableGauge('ferry.jobs', { description: 'Jobs by state', unit: '{job}' })

  // Attempts running, by job id: what an ending event needs of its start (the queue).
  const running = new Map<string, Started>()

  const stopEvents = q.events.subscribe((e) => {
    if (e.kind === 'job:started') {
      running.set(e.jobId, { at: e.at, type: e.type, queue: e.queue })
      if (e.readyAt !== undefined) wait.record(Math.max(0, e.at - e.readyAt) / 1000, { 'ferry.job.type': e.type, 'ferry.job.queue': e.queue })
      return
    }
    if (e.kind === 'lease:lost') {
      running.delete(e.jobId)
      return
    }
    const outcome = ATTEMPT_ENDS[e.kind]
    if (outcome === undefined || !('type' in e) || !('jobId' in e)) return
    const start = running.get(e.jobId)
    running.delete(e.jobId)
    const attrs: Attributes = { 'ferry.job.type': e.type, 'ferry.job.outcome': outcome }
    if (start) attrs['ferry.job.queue'] = start.queue
    if (start) duration.record(Math.max(0, e.at - start.at) / 1000, attrs)
    if (FINISHED.has(e.kind)) finished.add(1, attrs)
  })

  const observe = async (r: ObservableResult): Promise<void> => {
    let counts: Counts | undefined
    let timer: unknown
    try {
      counts = await Promise.race([
        q.counts(),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), COUNTS_WAIT_MS)
        }),
      ])
    } catch {
      // A closed or unreachable queue has no counts to report; the collection goes on without.
      return
    } finally {
      clearTimeout(timer as Parameters<typeof clearTimeout>[0])
    }
    if (counts === undefined) return
    for (const state of Object.keys(counts) as (keyof Counts)[]) r.observe(counts[state], { 'ferry.job.state': state })
  }
  jobs.addCallback(observe)

  return () => {
    stopEvents()
    jobs.removeCallback(observe)
    running.clear()
  }
}
