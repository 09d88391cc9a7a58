import { probe, type Probe } from './connectivity-probe.js'

/** The same probe in a dedicated worker, called by message. */
function inWorker(): Promise<Probe> {
  const worker = new Worker(new URL('./connectivity.worker.ts', import.meta.url), { type: 'module' })
  let next = 0
  const pending = new Map<number, (v: unknown) => void>()
  const call = (name: string, ...args: unknown[]) =>
    new Promise<unknown>((resolve) => {
      const id = next++
      pending.set(id, resolve)
      worker.postMessage({ id, call: name, args })
    })
  return new Promise((ready) => {
    worker.onmessage = (e: MessageEvent<{ ready?: true; id: number; value: unknown }>) => {
      if (e.data.ready) {
        ready({
          online: () => call('online') as never,
          events: () => call('events') as never,
          ran: () => call('ran') as never,
          dispatch: (type, name) => call('dispatch', type, name) as Promise<void>,
        })
        return
      }
      pending.get(e.data.id)?.(e.data.value)
      pending.delete(e.data.id)
    }
  })
}

declare global {
  interface Window {
    e2eReady: boolean
    conn: { page: Probe; worker: Probe }
  }
}

window.conn = { page: await probe(), worker: await inWorker() }
window.e2eReady = true
