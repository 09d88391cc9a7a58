/**
 * A queue on the default connectivity, with an 'online' job type and an 'always' one: what the
 * page and its dedicated worker both run, to show what the engine sees of the network.
 */
import { createQueue, job } from '../../../src/index.js'

export interface Probe {
  online(): boolean
  events(): string[]
  ran(): string[]
  dispatch(type: 'upload' | 'local', name: string): Promise<void>
}

export async function probe(): Promise<Probe> {
  const queue = createQueue()
  const events: string[] = []
  const ran: string[] = []
  queue.events.subscribe((e) => {
    if (e.kind === 'queue:online' || e.kind === 'queue:offline') events.push(e.kind)
  })
  queue.register('upload', (name) => void ran.push(name as string), { network: 'online' })
  queue.register('local', (name) => void ran.push(name as string))
  await queue.start()
  return {
    online: () => queue.online,
    events: () => [...events],
    ran: () => [...ran],
    dispatch: async (type, name) => void (await queue.dispatch(job(type, name))),
  }
}
