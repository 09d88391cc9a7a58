import { deleteDB } from 'idb'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, type Queue, type QueueEvent } from '../../src/index.js'
import { idbStore } from '../../src/storage/idb/index.js'

// Tabs and workers sharing an IndexedDB database tell each other what they commit on the
// BroadcastChannel `ferry:idb:<name>`. Any script of the origin can post there.

type Jobs = { note: { text: string } }
const names = new Set<string>()
const queues: Queue<Jobs>[] = []
const open = (name: string): Queue<Jobs> => {
  names.add(name)
  const q = createQueue<Jobs>({ store: idbStore({ name }) })
  queues.push(q)
  return q
}

describe('the IndexedDB share channel in Chromium', () => {
  const uncaught: unknown[] = []
  const onError = (e: ErrorEvent): void => void uncaught.push(e.error ?? e.message)
  afterEach(async () => {
    window.removeEventListener('error', onError)
    await Promise.all(queues.splice(0).map((q) => q.close()))
  })
  afterAll(async () => {
    await Promise.all([...names].map((name) => deleteDB(name)))
  })

  it('drops messages of any other shape, and network events, without throwing; real ones still arrive', async () => {
    window.addEventListener('error', onError)
    const name = `share-${Math.random().toString(36).slice(2)}`
    const queue = open(name)
    const other = open(name)
    const heard: QueueEvent[] = []
    queue.events.subscribe((e) => heard.push(e))
    const forger = new BroadcastChannel(`ferry:idb:${name}`)
    const forged: unknown[] = [
      null,
      5,
      'events',
      [],
      { from: 'x' },
      { from: 'x', events: 5 },
      { from: 7, events: [] },
      { from: 'x', events: [null] },
      { from: 'x', events: [[]] },
      { from: 'x', events: [{ kind: 'job:nonsense', at: 1 }] },
      { from: 'x', events: [{ kind: 7, at: 1 }] },
      { from: 'x', events: [{ kind: 'job:progress', jobId: 'j', progress: 1 }] },
      { from: 'x', events: [{ kind: 'job:progress', jobId: 'j', progress: 1, at: '1' }] },
      // Each engine's network is its own: never taken from another context.
      { from: 'x', events: [{ kind: 'queue:offline', at: 1 }] },
      { from: 'x', events: [{ kind: 'queue:online', at: 1 }] },
    ]
    for (const m of forged) forger.postMessage(m)
    // Well formed: delivered (this channel cannot tell who sent it).
    forger.postMessage({ from: 'x', events: [{ kind: 'job:progress', jobId: 'marker', progress: 1, at: 1 }] })
    await expect.poll(() => heard.map((e) => e.kind)).toEqual(['job:progress'])
    expect(heard).toEqual([{ kind: 'job:progress', jobId: 'marker', progress: 1, at: 1 }])
    expect(queue.online).toBe(true)
    // A message with a bad event among good ones is dropped whole.
    forger.postMessage({ from: 'x', events: [{ kind: 'job:progress', jobId: 'half', progress: 1, at: 1 }, null] })
    // What another queue on the database commits still arrives.
    const { id } = await other.dispatch(job('note', { text: 'hello' }))
    await expect.poll(() => heard.map((e) => e.kind)).toEqual(['job:progress', 'job:dispatched'])
    expect(heard[1]).toMatchObject({ kind: 'job:dispatched', jobId: id })
    forger.close()
    expect(uncaught).toEqual([])
  })
})
