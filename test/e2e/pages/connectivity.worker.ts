import { probe } from './connectivity-probe.js'

const p = await probe()
self.onmessage = async (e: MessageEvent<{ id: number; call: string; args: unknown[] }>) => {
  const { id, call, args } = e.data
  const fn = p[call as keyof typeof p] as (...a: unknown[]) => unknown
  self.postMessage({ id, value: await fn(...args) })
}
self.postMessage({ ready: true })
