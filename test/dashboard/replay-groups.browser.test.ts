import { afterEach, describe, expect, it } from 'vitest'
import { job } from '../../src/index.js'
import { defineDashboard, type FerryDashboard } from '../../src/dashboard/index.js'
import { WAIT, fake, inWorker, local, one, type Setup } from './setup.js'

defineDashboard()

const group = (el: HTMLElement, kind: 'chain' | 'batch', id: string) => one(el, `[part~="${kind}"][data-${kind}-id="${CSS.escape(id)}"]`)
const replayButton = (el: HTMLElement, kind: 'chain' | 'batch', id: string) =>
  group(el, kind, id)?.querySelector<HTMLButtonElement>(`button[data-action="replay-${kind}"]`) ?? null

// As the other dashboard tests: a queue in the page, and one on IndexedDB in a worker through its client.
describe.each([
  ['a queue in the page', local],
  ['a queue on IndexedDB in a dedicated worker, through its client', inWorker],
])('<ferry-dashboard> replays failed chains and batches over %s', { timeout: 60_000 }, (_, open) => {
  let setup: Setup | undefined
  let el: FerryDashboard | undefined

  afterEach(async () => {
    el?.remove()
    el = undefined
    await setup?.close()
    setup = undefined
  })

  const mount = async () => {
    setup = await open()
    el = document.createElement('ferry-dashboard')
    el.queue = setup.queue
    document.body.append(el)
    return { q: setup.queue, el }
  }

  it('offers Replay on a failed chain only, and the replayed chain runs on to success', async () => {
    const { q, el } = await mount()
    // `flaky` fails its first two runs: both attempts of the first run of the chain.
    const id = await q.chain(job('ok', { n: 1 }), job('flaky', { key: `chain-${Math.random()}` }).retry(1).backoff(1), job('ok', { n: 3 })).dispatch()
    await expect.poll(() => group(el, 'chain', id)?.dataset['state'], WAIT).toBe('failed')
    const button = replayButton(el, 'chain', id)
    expect(button?.getAttribute('aria-label')).toBe(`Replay chain ${id}`)
    button?.click()
    await expect.poll(() => group(el, 'chain', id)?.dataset['state'], WAIT).toBe('succeeded')
    expect(replayButton(el, 'chain', id)).toBeNull()
    expect(group(el, 'chain', id)?.querySelector('[part~="group-text"]')?.textContent).toMatch(/3\s*\/\s*3/)
    expect((await q.findChain(id)).steps.map((s) => s.state)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  })

  it('offers Replay on a failed batch, and the replayed batch runs on to success', async () => {
    const { q, el } = await mount()
    const id = await q.batch(job('ok', { n: 1 }), job('flaky', { key: `batch-${Math.random()}` }).retry(1).backoff(1)).name('uploads').dispatch()
    await expect.poll(() => group(el, 'batch', id)?.dataset['state'], WAIT).toBe('failed')
    await expect.poll(() => group(el, 'batch', id)?.querySelector('[part~="group-text"]')?.textContent, WAIT).toMatch(/2\s*\/\s*2 done, 1 failed/)
    replayButton(el, 'batch', id)?.click()
    await expect.poll(() => group(el, 'batch', id)?.dataset['state'], WAIT).toBe('succeeded')
    expect(replayButton(el, 'batch', id)).toBeNull()
    expect(await q.findBatch(id)).toMatchObject({ succeeded: 2, failed: 0 })
  })
})

describe('<ferry-dashboard> group replay on a queue of plain functions', () => {
  it('shows no Replay on a running group, and the error of a replay that fails in the element', async () => {
    const chain = (state: 'running' | 'failed') => ({ id: 'c1', state, current: 0, createdAt: 1, steps: [{ jobId: 'j1', type: 't', state: state === 'failed' ? 'failed' as const : 'active' as const }], ...(state === 'failed' && { finishedAt: 2 }) })
    let state: 'running' | 'failed' = 'running'
    const q = fake([], {
      findChain: () => Promise.resolve(chain(state)),
      replayChain: () => Promise.reject(new Error('the store is read-only')),
    })
    const el = document.createElement('ferry-dashboard')
    el.queue = q
    document.body.append(el)
    try {
      q.emit({ kind: 'chain:started', at: 1, chainId: 'c1', jobId: 'j1' })
      await expect.poll(() => group(el, 'chain', 'c1')?.dataset['state'], WAIT).toBe('running')
      expect(replayButton(el, 'chain', 'c1')).toBeNull()
      state = 'failed'
      q.emit({ kind: 'chain:failed', at: 2, chainId: 'c1', jobId: 'j1' })
      await expect.poll(() => replayButton(el, 'chain', 'c1'), WAIT).not.toBeNull()
      replayButton(el, 'chain', 'c1')?.click()
      await expect.poll(() => one(el, '[part~="error-text"]')?.textContent, WAIT).toBe('Could not replay chain c1: the store is read-only')
    } finally {
      el.remove()
    }
  })

  it('offers no Replay when the queue cannot replay groups', async () => {
    const q = fake([], {
      findChain: () => Promise.resolve({ id: 'c1', state: 'failed', current: 0, createdAt: 1, finishedAt: 2, steps: [{ jobId: 'j1', type: 't', state: 'failed' }] }),
    })
    const el = document.createElement('ferry-dashboard')
    el.queue = q
    document.body.append(el)
    try {
      q.emit({ kind: 'chain:failed', at: 2, chainId: 'c1', jobId: 'j1' })
      await expect.poll(() => group(el, 'chain', 'c1')?.dataset['state'], WAIT).toBe('failed')
      expect(replayButton(el, 'chain', 'c1')).toBeNull()
    } finally {
      el.remove()
    }
  })
})
