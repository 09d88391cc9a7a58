import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job } from '../../src/index.js'
import { FerryDashboard, defineDashboard, type DashboardQueue } from '../../src/dashboard/index.js'
import { XSS_TYPE, type DashJobs, type Steering } from './fixtures/jobs.js'
import { WAIT, button, cell, countOf, facade, inWorker, local, one, row, shadow, type Setup } from './setup.js'

describe('<ferry-dashboard> themes', () => {
  it('follows the theme attribute and the custom properties', async () => {
    const el = document.createElement('ferry-dashboard')
    document.body.append(el)
    try {
      const bg = () => getComputedStyle(el).backgroundColor
      el.setAttribute('theme', 'light')
      const light = bg()
      el.setAttribute('theme', 'dark')
      const dark = bg()
      expect(dark).not.toBe(light)
      el.style.setProperty('--ferry-bg', 'rgb(1, 2, 3)')
      expect(bg()).toBe('rgb(1, 2, 3)')
      // The table is labelled for assistive technology.
      const heads = [...shadow(el).querySelectorAll('th[scope="col"]')].map((th) => th.textContent)
      expect(heads).toEqual(['ID', 'Type', 'State', 'Attempts', 'Version', 'Progress', 'Last error', 'Actions'])
    } finally {
      el.remove()
    }
  })
})

// Each case runs against a queue in the page (memory store) and against one on IndexedDB hosted
// in a dedicated worker, driven through its QueueClient, as the web demo does.
describe.each([
  ['a queue in the page', local],
  ['a queue on IndexedDB in a dedicated worker, through its client', inWorker],
])('<ferry-dashboard> over %s', { timeout: 60_000 }, (_, open) => {
  let setup: Setup | undefined
  let el: FerryDashboard | undefined

  afterEach(async () => {
    el?.remove()
    el = undefined
    await setup?.close()
    setup = undefined
  })

  const mount = async (): Promise<{ q: Setup['queue']; el: FerryDashboard; steering: Steering }> => {
    setup = await open()
    el = document.createElement('ferry-dashboard')
    el.queue = setup.queue
    document.body.append(el)
    return { q: setup.queue, el, steering: setup.steering }
  }

  it('is the registered <ferry-dashboard> element, and defining it again is harmless', () => {
    expect(customElements.get('ferry-dashboard')).toBe(FerryDashboard)
    expect(() => defineDashboard()).not.toThrow()
    expect(document.createElement('ferry-dashboard')).toBeInstanceOf(FerryDashboard)
    const tag = `queue-view-${Math.random().toString(36).slice(2)}`
    defineDashboard(tag)
    expect(document.createElement(tag)).toBeInstanceOf(FerryDashboard)
  })

  it('shows the counts per state and lists the jobs with their type, state and attempts', async () => {
    const { q, el } = await mount()
    const done = await Promise.all([q.dispatch(job('ok', { n: 1 })), q.dispatch(job('ok', { n: 2 }))])
    const waiting = await q.dispatch(job('unknown', {}) as never)
    const later = await q.dispatch(job('ok', {}).delay(60_000))
    await expect.poll(() => countOf(el, 'succeeded'), WAIT).toBe('2')
    await expect.poll(() => [countOf(el, 'waiting'), countOf(el, 'delayed')], WAIT).toEqual(['1', '1'])
    await expect.poll(() => row(el, waiting.id)?.dataset['state'], WAIT).toBe('waiting')
    for (const { id } of done) {
      await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('succeeded')
      expect(cell(el, id, 'type')).toBe('ok')
      expect(cell(el, id, 'id')).toBe(id)
      expect(cell(el, id, 'attempts')).toMatch(/^1\s*\/\s*4$/)
    }
    expect(cell(el, later.id, 'state')).toBe('delayed')
  })

  it('filters the list by state and by type', async () => {
    const { q, el } = await mount()
    const ok = await q.dispatch(job('ok', {}))
    const held = await q.dispatch(job('hold', { key: 'h' }))
    const stray = await q.dispatch(job('unknown', {}) as never)
    await expect.poll(() => cell(el, ok.id, 'state'), WAIT).toBe('succeeded')
    await expect.poll(() => cell(el, held.id, 'state'), WAIT).toBe('active')

    const state = one<HTMLSelectElement>(el, 'select[part~="state-filter"]')
    if (!state) throw new Error('no state filter')
    state.value = 'succeeded'
    state.dispatchEvent(new Event('change'))
    await expect.poll(() => row(el, held.id), WAIT).toBeNull()
    expect(row(el, ok.id)).not.toBeNull()
    expect(row(el, stray.id)).toBeNull()

    state.value = ''
    state.dispatchEvent(new Event('change'))
    const type = one<HTMLInputElement>(el, 'input[part~="type-filter"]')
    if (!type) throw new Error('no type filter')
    type.value = 'unknown'
    type.dispatchEvent(new Event('input'))
    await expect.poll(() => row(el, ok.id), WAIT).toBeNull()
    expect(row(el, stray.id)).not.toBeNull()
    expect(row(el, held.id)).toBeNull()

    // A click on a count filters by its state.
    type.value = ''
    type.dispatchEvent(new Event('input'))
    button(el, '[part~="count"][data-state="active"]').click()
    await expect.poll(() => [row(el, held.id) !== null, row(el, ok.id) !== null, row(el, stray.id) !== null], WAIT).toEqual([true, false, false])
    expect(state.value).toBe('active')
  })

  it('pages through the jobs 50 at a time', async () => {
    const { q, el } = await mount()
    const ids = (await q.dispatchMany(Array.from({ length: 60 }, (_, n) => job('unknown', { n }) as never))).map((r) => r.id)
    const rows = () => [...shadow(el).querySelectorAll<HTMLElement>('tr[part~="job-row"]')].map((r) => r.dataset['jobId'])
    await expect.poll(rows, WAIT).toEqual(ids.slice(0, 50))
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('1–50 of 60')
    expect(button(el, '[part~="prev-page"]').disabled).toBe(true)
    button(el, '[part~="next-page"]').click()
    await expect.poll(rows, WAIT).toEqual(ids.slice(50))
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('51–60 of 60')
    expect(button(el, '[part~="next-page"]').disabled).toBe(true)
    button(el, '[part~="prev-page"]').click()
    await expect.poll(rows, WAIT).toEqual(ids.slice(0, 50))
  })

  it('shows the attempts and the last error of a failed job, and replays it: it runs again and succeeds', async () => {
    const { q, el } = await mount()
    const { id } = await q.dispatch(job('flaky', { key: 'f' }).retry(1).backoff(1))
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('failed')
    expect(cell(el, id, 'attempts')).toMatch(/^2\s*\/\s*2$/)
    expect(cell(el, id, 'error')).toContain('upload refused (run 2)')
    expect(row(el, id)?.querySelector('button[data-action="cancel"]')).toBeNull()

    row(el, id)?.querySelector<HTMLButtonElement>('button[data-action="replay"]')?.click()
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('succeeded')
    expect((await q.getJob(id))?.result).toBe('uploaded')
  })

  it('shows the progress of a running job', async () => {
    const { q, el, steering } = await mount()
    const { id } = await q.dispatch(job('hold', { key: 'p' }))
    await expect.poll(() => cell(el, id, 'progress'), WAIT).toContain('40')
    expect(row(el, id)?.querySelector('progress')?.value).toBe(40)
    const before = row(el, id)
    steering.release('p')
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('succeeded')
    // Updated in place: the same row, its text rewritten.
    expect(row(el, id)).toBe(before)
  })

  it('cancels a waiting job', async () => {
    const { q, el } = await mount()
    const { id } = await q.dispatch(job('unknown', {}) as never)
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('waiting')
    expect(row(el, id)?.querySelector('button[data-action="replay"]')).toBeNull()
    row(el, id)?.querySelector<HTMLButtonElement>('button[data-action="cancel"]')?.click()
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('cancelled')
    expect((await q.getJob(id))?.state).toBe('cancelled')
    await expect.poll(() => countOf(el, 'cancelled'), WAIT).toBe('1')
  })

  it('pauses the queue: nothing is claimed until it resumes', async () => {
    const { q, el } = await mount()
    const pause = button(el, 'button[part~="pause"]')
    expect(pause.dataset['action']).toBe('pause')
    pause.click()
    await expect.poll(() => pause.dataset['action'], WAIT).toBe('resume')
    expect(one(el, '[part~="run-state"]')?.textContent).toMatch(/paused/i)
    const { id } = await q.dispatch(job('ok', {}))
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('waiting')
    // Given time to claim, a paused queue leaves it waiting.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect((await q.getJob(id))?.state).toBe('waiting')
    pause.click()
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('succeeded')
    expect(pause.dataset['action']).toBe('pause')
    expect(one(el, '[part~="run-state"]')?.textContent).toMatch(/running/i)
  })

  it('shows a queue paused before it was on the page as paused, and one paused while it was away too', async () => {
    setup = await open()
    const q = setup.queue
    await q.pause()
    const { id } = await q.dispatch(job('ok', {}))
    const view = document.createElement('ferry-dashboard')
    el = view
    view.queue = q
    document.body.append(view)
    const pause = button(view, 'button[part~="pause"]')
    const runState = () => one(view, '[part~="run-state"]')
    await expect.poll(() => runState()?.dataset['paused'], WAIT).toBe('true')
    expect(runState()?.textContent).toMatch(/paused/i)
    expect(pause.dataset['action']).toBe('resume')
    await expect.poll(() => cell(view, id, 'state'), WAIT).toBe('waiting')
    pause.click()
    await expect.poll(() => cell(view, id, 'state'), WAIT).toBe('succeeded')
    expect(runState()?.dataset['paused']).toBe('false')

    // Events sent while it is off the page are not seen: it reads the state again on its return.
    view.remove()
    await q.pause()
    document.body.append(view)
    await expect.poll(() => runState()?.dataset['paused'], WAIT).toBe('true')
    expect(pause.dataset['action']).toBe('resume')
  })

  it('shows the network state going offline and online again', async () => {
    const { el, steering } = await mount()
    const net = () => one(el, '[part~="network"]')
    await expect.poll(() => net()?.dataset['online'], WAIT).toBe('true')
    expect(net()?.textContent).toMatch(/online/i)
    steering.setOnline(false)
    await expect.poll(() => net()?.dataset['online'], WAIT).toBe('false')
    expect(net()?.textContent).toMatch(/offline/i)
    steering.setOnline(true)
    await expect.poll(() => net()?.dataset['online'], WAIT).toBe('true')
  })

  it('shows a chain and a batch with their progress', async () => {
    const { q, el, steering } = await mount()
    const chainId = await q.chain(job('ok', { n: 1 }), job('hold', { key: 'c' }), job('ok', { n: 3 })).dispatch()
    const batchId = await q.batch(job('ok', { n: 1 }), job('ok', { n: 2 }), job('hold', { key: 'b' })).name('thumbnails').dispatch()
    const chain = () => one(el, `[part~="chain"][data-chain-id="${CSS.escape(chainId)}"]`)
    const batch = () => one(el, `[part~="batch"][data-batch-id="${CSS.escape(batchId)}"]`)
    await expect.poll(() => chain()?.querySelector('[part~="group-text"]')?.textContent, WAIT).toMatch(/1\s*\/\s*3/)
    expect(chain()?.dataset['state']).toBe('running')
    expect(chain()?.querySelector('progress')?.value).toBe(1)
    expect(chain()?.querySelector('progress')?.max).toBe(3)
    await expect.poll(() => batch()?.querySelector('[part~="group-text"]')?.textContent, WAIT).toMatch(/2\s*\/\s*3/)
    expect(batch()?.textContent).toContain('thumbnails')
    expect(batch()?.dataset['state']).toBe('running')

    steering.release('c')
    steering.release('b')
    await expect.poll(() => chain()?.dataset['state'], WAIT).toBe('succeeded')
    expect(chain()?.querySelector('[part~="group-text"]')?.textContent).toMatch(/3\s*\/\s*3/)
    await expect.poll(() => batch()?.dataset['state'], WAIT).toBe('succeeded')
    expect(batch()?.querySelector('progress')?.value).toBe(3)
  })

  it('renders job types and errors as text, never as HTML', async () => {
    const { q, el } = await mount()
    const { id } = await q.dispatch(job(XSS_TYPE, {}) as never)
    await expect.poll(() => cell(el, id, 'type'), WAIT).toBe(XSS_TYPE)
    expect(shadow(el).querySelector('img')).toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((window as { __ferryXss?: number }).__ferryXss).toBeUndefined()
  })

  it('shows the error of an action in the element instead of throwing', async () => {
    const { q, el } = await mount()
    const { id } = await q.dispatch(job('unknown', {}) as never)
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('waiting')
    el.queue = { ...facade(q), cancel: () => Promise.reject(new Error('the store is read-only')) }
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('waiting')
    row(el, id)?.querySelector<HTMLButtonElement>('button[data-action="cancel"]')?.click()
    await expect.poll(() => one(el, '[part~="error"]')?.textContent, WAIT).toContain('the store is read-only')
    expect(one(el, '[part~="error"]')?.hidden).toBe(false)
    expect(cell(el, id, 'state')).toBe('waiting')
    button(el, '[part~="error"] button[data-action="dismiss"]').click()
    await expect.poll(() => one(el, '[part~="error"]')?.hidden, WAIT).toBe(true)
  })

  it('shows a read that failed, until a read works again', async () => {
    const { q, el } = await mount()
    let broken = true
    el.queue = { ...facade(q), listJobs: (f) => (broken ? Promise.reject(new Error('disk I/O error')) : q.listJobs(f)) }
    await expect.poll(() => one(el, '[part~="error"]')?.textContent, WAIT).toContain('disk I/O error')
    broken = false
    const { id } = await q.dispatch(job('ok', {}))
    await expect.poll(() => cell(el, id, 'state'), WAIT).toBe('succeeded')
    await expect.poll(() => one(el, '[part~="error"]')?.hidden, WAIT).toBe(true)
  })

  it('takes a queue set on the element before the element was defined', async () => {
    setup = await open()
    const { id } = await setup.queue.dispatch(job('unknown', {}) as never)
    const tag = `late-dashboard-${Math.random().toString(36).slice(2)}`
    const early = document.createElement(tag) as HTMLElement & { queue?: unknown }
    early.queue = setup.queue
    document.body.append(early)
    try {
      defineDashboard(tag)
      await expect.poll(() => early.shadowRoot?.querySelector(`tr[data-job-id="${CSS.escape(id)}"]`)?.getAttribute('data-state'), WAIT).toBe('waiting')
      expect(Object.prototype.hasOwnProperty.call(early, 'queue')).toBe(false)
    } finally {
      early.remove()
    }
  })

  it('switches to another queue when given one', async () => {
    const { q, el } = await mount()
    const first = await q.dispatch(job('unknown', {}) as never)
    await expect.poll(() => row(el, first.id), WAIT).not.toBeNull()
    const other = createQueue<DashJobs>()
    const second = await other.dispatch(job('ok', {}))
    el.queue = other
    await expect.poll(() => row(el, second.id), WAIT).not.toBeNull()
    expect(row(el, first.id)).toBeNull()
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('1')
    // The type filter offers the types of this queue only.
    expect([...shadow(el).querySelectorAll('datalist option')].map((o) => o.getAttribute('value'))).toEqual(['ok'])
    await other.close()
  })

  it('reads at most once at a time, a few times a second, while 300 jobs finish; the chart counts them', async () => {
    setup = await open()
    const q = setup.queue
    let lists = 0
    let inFlight = 0
    let most = 0
    el = document.createElement('ferry-dashboard')
    el.queue = {
      ...facade(q),
      listJobs: async (f) => {
        lists++
        most = Math.max(most, ++inFlight)
        try {
          return await q.listJobs(f)
        } finally {
          inFlight--
        }
      },
    }
    document.body.append(el)
    const view = el
    await expect.poll(() => countOf(view, 'succeeded'), WAIT).toBe('0')
    const start = performance.now()
    const first = lists
    await q.dispatchMany(Array.from({ length: 300 }, (_, n) => job('ok', { n })))
    await expect.poll(() => countOf(view, 'succeeded'), WAIT).toBe('300')
    const elapsed = performance.now() - start
    expect(most).toBe(1)
    // Reads start at least 250 ms apart: one per window, and the one after the last event.
    expect(lists - first).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2)
    expect(shadow(view).querySelectorAll('tr[part~="job-row"]')).toHaveLength(50)
    await expect.poll(() => one(view, '[part~="chart"]')?.getAttribute('aria-label'), WAIT).toContain('300 finished')
    expect(one(view, '[part~="chart"] [data-series="finished"]')?.getAttribute('d')).toMatch(/^M/)
  })

  it('stops every subscription and read when removed from the page, and resumes when added back', async () => {
    setup = await open()
    const q = setup.queue
    let listeners = 0
    let reads = 0
    const watched: DashboardQueue = {
      ...facade(q),
      events: {
        subscribe(listener) {
          listeners++
          const stop = q.events.subscribe(listener)
          return () => {
            listeners--
            stop()
          }
        },
      },
      getJob: (id) => (reads++, q.getJob(id)),
      listJobs: (f) => (reads++, q.listJobs(f)),
      counts: () => (reads++, q.counts()),
      findBatch: (id) => (reads++, q.findBatch(id)),
      findChain: (id) => (reads++, q.findChain(id)),
    }
    el = document.createElement('ferry-dashboard')
    el.queue = watched
    expect(listeners).toBe(0)
    document.body.append(el)
    const view = el
    await q.chain(job('ok', {}), job('ok', {})).dispatch()
    await q.batch(job('ok', {})).dispatch()
    await expect.poll(() => countOf(view, 'succeeded'), WAIT).toBe('3')
    await expect.poll(() => shadow(view).querySelectorAll('[part~="chain"], [part~="batch"]').length, WAIT).toBe(2)
    expect(listeners).toBeGreaterThan(0)

    el.remove()
    expect(listeners).toBe(0)
    const before = reads
    await q.dispatchMany([job('ok', {}), job('ok', {}), job('ok', {})])
    await expect.poll(async () => (await q.counts()).succeeded, WAIT).toBe(6)
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(reads).toBe(before)
    expect(countOf(view, 'succeeded')).toBe('3')

    document.body.append(el)
    expect(listeners).toBeGreaterThan(0)
    await expect.poll(() => countOf(view, 'succeeded'), WAIT).toBe('6')
  })
})
