// TEMPORARY smoke file (tooling check), deleted again.
import { nanoid } from 'nanoid'

export function smoke(): Promise<string> {
  const controller = new AbortController()
  const signal = controller.signal
  const onAbort = function (this: AbortSignal, event: Event): void {
    void event.type
    void this.reason
  }
  signal.addEventListener('abort', onAbort, { once: true })
  signal.removeEventListener('abort', onAbort)
  const handle = setTimeout(() => controller.abort(new Error('late')), 10)
  clearTimeout(handle)
  signal.throwIfAborted()
  const copy = structuredClone({ a: [1, 2, 3] })
  const timed: AbortSignal = AbortSignal.timeout(5)
  return new Promise((resolve) => {
    queueMicrotask(() => resolve(`${nanoid()}:${copy.a.length}:${String(signal.aborted)}:${String(timed.aborted)}`))
  })
}
