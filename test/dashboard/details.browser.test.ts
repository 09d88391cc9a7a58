/**
 * A job's details in the dashboard (its metadata and the versions that dispatched and ran it),
 * the table's version column, and the version filter.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createQueue, job, memoryStore, type Store } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { FerryDashboard, type DashboardQueue } from '../../src/dashboard/index.js'
import type { JobFilter, JobRecord } from '../../src/core/types.js'
import { WORKER_VERSION, XSS_TYPE, type DashJobs } from './fixtures/jobs.js'
import { WAIT, button, cell, fake, inWorker, one, rec, row, shadow, type Setup } from './setup.js'

const mounted: HTMLElement[] = []
function mount(q: DashboardQueue): FerryDashboard {
  const el = document.createElement('ferry-dashboard')
  el.style.display = 'block'
  el.style.width = '1000px'
  el.queue = q
  document.body.append(el)
  mounted.push(el)
  return el
}
afterEach(() => mounted.splice(0).forEach((el) => el.remove()))

const detail = (el: HTMLElement) => one(el, '[part~="job-detail"]')
const open = (el: HTMLElement) => {
  const d = detail(el)
  return d && !d.hidden ? d.dataset['jobId'] : undefined
}
const field = (el: HTMLElement, name: string) => {
  const f = detail(el)?.querySelector<HTMLElement>(`[data-field="${name}"]`)
  return f && !f.hidden ? f.querySelector('dd')?.textContent : undefined
}
const metaShown = (el: HTMLElement) =>
  [...(detail(el)?.querySelectorAll('[part~="meta-entry"]') ?? [])].map((e) => [e.querySelector('dt')?.textContent, e.querySelector('dd')?.textContent])
const showButton = (el: HTMLElement, id: string) => button(el, `button[data-action="show-job"][data-job-id="${CSS.escape(id)}"]`)

/** A queue whose `getJob` answers from the same records its page lists. */
function over(jobs: JobRecord[], extra: Partial<DashboardQueue> = {}) {
  return fake(jobs, { getJob: (id) => Promise.resolve(jobs.find((j) => j.id === id)), ...extra })
}

describe('<ferry-dashboard> job details', { timeout: 30_000 }, () => {
  it("opens a job's details from its row: its metadata, and the versions that dispatched and ran it", async () => {
    const j = rec({
      id: 'j1',
      type: 'email:send',
      queue: 'mail',
      state: 'succeeded',
      meta: { userId: 'u1', plan: 'pro', seats: 3, beta: true },
      dispatchedBy: '1.4.1',
      processedBy: '1.4.2',
    })
    const el = mount(over([j, rec({ id: 'j2' })]))
    await expect.poll(() => cell(el, 'j1', 'state'), WAIT).toBe('succeeded')
    expect(open(el)).toBeUndefined()

    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBe('j1')
    expect(metaShown(el)).toEqual([
      ['userId', 'u1'],
      ['plan', 'pro'],
      ['seats', '3'],
      ['beta', 'true'],
    ])
    expect([field(el, 'dispatchedBy'), field(el, 'processedBy')]).toEqual(['1.4.1', '1.4.2'])
    expect([field(el, 'type'), field(el, 'queue'), field(el, 'state')]).toEqual(['email:send', 'mail', 'succeeded'])
    expect(showButton(el, 'j1').getAttribute('aria-expanded')).toBe('true')
    expect(row(el, 'j1')?.dataset['selected']).toBe('true')
    // The panel takes the focus, so that a keyboard reader is in it.
    expect(shadow(el).activeElement).toBe(detail(el))

    // Another job's button shows that job instead.
    showButton(el, 'j2').click()
    await expect.poll(() => open(el), WAIT).toBe('j2')
    expect(metaShown(el)).toEqual([])
    expect(detail(el)?.querySelector('[part~="meta-empty"]')?.hasAttribute('hidden')).toBe(false)
    expect([field(el, 'dispatchedBy'), field(el, 'processedBy')]).toEqual([undefined, undefined])
    expect(showButton(el, 'j1').getAttribute('aria-expanded')).toBe('false')
    expect(row(el, 'j1')?.dataset['selected']).toBeUndefined()

    // Its close button closes it and gives the focus back to the row it was opened from.
    button(el, '[part~="job-detail"] button[data-action="close-detail"]').click()
    await expect.poll(() => open(el), WAIT).toBeUndefined()
    expect(shadow(el).activeElement).toBe(showButton(el, 'j2'))
  })

  it('closes on Escape, and on a second click of the same job', async () => {
    const el = mount(over([rec({ id: 'j1', meta: { userId: 'u1' } })]))
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBe('j1')
    detail(el)?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }))
    await expect.poll(() => open(el), WAIT).toBeUndefined()
    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBe('j1')
    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBeUndefined()
  })

  it('shows metadata keys and values as text, never as HTML, and malformed metadata without failing', async () => {
    const uncaught: unknown[] = []
    const onError = (e: ErrorEvent) => (uncaught.push(e.error ?? e.message), e.preventDefault())
    window.addEventListener('error', onError)
    try {
      const long = 'x'.repeat(3000)
      const j = rec({
        id: 'j1',
        // Not what JobMeta allows: a record from elsewhere may hold anything.
        meta: { [XSS_TYPE]: XSS_TYPE, long, nested: { a: [1, 2] }, nothing: null } as unknown as JobRecord['meta'],
        dispatchedBy: XSS_TYPE,
      })
      const bad = rec({ id: 'j2', meta: 'not an object' as unknown as JobRecord['meta'], processedBy: 42 as unknown as string })
      const el = mount(over([j, bad]))
      await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
      showButton(el, 'j1').click()
      await expect.poll(() => open(el), WAIT).toBe('j1')
      const shown = metaShown(el)
      expect(shown[0]).toEqual([XSS_TYPE, XSS_TYPE])
      expect(field(el, 'dispatchedBy')).toBe(XSS_TYPE)
      // A long value is cut on screen; the whole of it is in the title.
      expect(shown[1]?.[0]).toBe('long')
      expect(shown[1]?.[1]?.length).toBeLessThan(long.length)
      expect(detail(el)?.querySelectorAll('[part~="meta-entry"] dd')[1]?.getAttribute('title')).toBe(long)
      // What is not a string, number or boolean is shown as JSON.
      expect(shown.slice(2)).toEqual([
        ['nested', '{"a":[1,2]}'],
        ['nothing', 'null'],
      ])
      expect(shadow(el).querySelector('img')).toBeNull()

      showButton(el, 'j2').click()
      await expect.poll(() => open(el), WAIT).toBe('j2')
      expect(metaShown(el)).toEqual([])
      expect(field(el, 'processedBy')).toBe('42')
      await new Promise((r) => setTimeout(r, 100))
      expect((window as { __ferryXss?: number }).__ferryXss).toBeUndefined()
      expect(uncaught).toEqual([])
    } finally {
      window.removeEventListener('error', onError)
    }
  })

  it('follows the job live: each refresh reads it again, and says so when it is gone', async () => {
    let current: JobRecord | undefined = rec({ id: 'j1', state: 'waiting', attempt: 0, dispatchedBy: '1.4.1' })
    const q = fake([rec({ id: 'j1', state: 'waiting', attempt: 0 })], { getJob: (id) => Promise.resolve(id === 'j1' ? current : undefined) })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => field(el, 'dispatchedBy'), WAIT).toBe('1.4.1')
    expect(field(el, 'processedBy')).toBeUndefined()

    current = rec({ id: 'j1', state: 'active', attempt: 1, dispatchedBy: '1.4.1', processedBy: '1.4.2' })
    q.emit({ kind: 'job:started', at: Date.now(), jobId: 'j1', type: 't', queue: 'default', attempt: 1 })
    await expect.poll(() => field(el, 'processedBy'), WAIT).toBe('1.4.2')
    expect(field(el, 'state')).toBe('active')

    current = undefined
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await expect.poll(() => detail(el)?.querySelector('[part~="detail-gone"]')?.hasAttribute('hidden'), WAIT).toBe(false)
    expect(open(el)).toBe('j1')
    expect(field(el, 'dispatchedBy')).toBeUndefined()
  })
})

describe('<ferry-dashboard> job details and the rows refilled in place', { timeout: 30_000 }, () => {
  it('keeps the open job marked, and a focused id button with its job, as the rows show other jobs', async () => {
    let jobs = [rec({ id: 'a' }), rec({ id: 'b' })]
    const q = fake([], { listJobs: () => Promise.resolve(jobs), getJob: (id) => Promise.resolve(jobs.find((j) => j.id === id)) })
    const el = mount(q)
    await expect.poll(() => row(el, 'b'), WAIT).not.toBeNull()
    showButton(el, 'a').click()
    await expect.poll(() => open(el), WAIT).toBe('a')
    showButton(el, 'a').focus()
    jobs = [rec({ id: 'c' }), rec({ id: 'a' }), rec({ id: 'b' })]
    q.emit({ kind: 'job:failed', at: Date.now(), jobId: 'c', type: 't', error: { name: 'Error', message: 'x' } })
    await expect.poll(() => row(el, 'c'), WAIT).not.toBeNull()
    const selected = [...shadow(el).querySelectorAll<HTMLElement>('tr[data-selected]')].map((r) => r.dataset['jobId'])
    expect(selected).toEqual(['a'])
    expect((shadow(el).activeElement as HTMLElement | null)?.dataset['jobId']).toBe('a')
    expect(showButton(el, 'a').getAttribute('aria-expanded')).toBe('true')
    expect(showButton(el, 'c').getAttribute('aria-expanded')).toBe('false')
  })
})

describe('<ferry-dashboard> versions in the table', { timeout: 30_000 }, () => {
  const versionColumnShown = (el: HTMLElement) => {
    const th = one(el, 'th[data-col="version"]')
    return th ? getComputedStyle(th).display !== 'none' : undefined
  }

  it('shows each job’s versions compactly, and the column only while a job on the page has one', async () => {
    let jobs = [
      rec({ id: 'same', dispatchedBy: '1.4.2', processedBy: '1.4.2' }),
      rec({ id: 'moved', dispatchedBy: '1.4.1', processedBy: '1.4.2' }),
      rec({ id: 'new', state: 'waiting', attempt: 0, dispatchedBy: '1.4.2' }),
      rec({ id: 'old', processedBy: '1.4.2' }),
      rec({ id: 'none' }),
    ]
    const q = fake([], { listJobs: () => Promise.resolve(jobs) })
    const el = mount(q)
    await expect.poll(() => cell(el, 'moved', 'version'), WAIT).toBe('1.4.1 → 1.4.2')
    expect(versionColumnShown(el)).toBe(true)
    expect(cell(el, 'same', 'version')).toBe('1.4.2')
    expect(cell(el, 'new', 'version')).toBe('1.4.2')
    expect(cell(el, 'old', 'version')).toBe('→ 1.4.2')
    expect(cell(el, 'none', 'version')).toBe('')
    const title = (id: string) => row(el, id)?.querySelector('[data-col="version"]')?.getAttribute('title')
    expect(title('moved')).toBe('Dispatched by 1.4.1, processed by 1.4.2')
    expect(title('new')).toBe('Dispatched by 1.4.2')
    expect(title('old')).toBe('Processed by 1.4.2')
    expect(title('none')).toBeNull()

    // The rows stay and are refilled: a page without versions hides the column.
    const first = shadow(el).querySelector('tr[part~="job-row"]')
    jobs = [rec({ id: 'a' }), rec({ id: 'b' })]
    q.emit({ kind: 'job:failed', at: Date.now(), jobId: 'a', type: 't', error: { name: 'Error', message: 'x' } })
    await expect.poll(() => row(el, 'a'), WAIT).not.toBeNull()
    expect(versionColumnShown(el)).toBe(false)
    expect(shadow(el).querySelector('tr[part~="job-row"]')).toBe(first)
  })

  it('passes the version filter to listJobs as typed, and offers the versions seen', async () => {
    const filters: JobFilter[] = []
    const jobs = [rec({ id: 'j1', dispatchedBy: '1.4.1', processedBy: '1.4.2' })]
    const q = fake([], {
      listJobs: (f) => {
        filters.push(f ?? {})
        return Promise.resolve(f?.version === undefined || f.version === '1.4.1' ? jobs : [])
      },
    })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    expect(filters.at(-1)).not.toHaveProperty('version')
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('1–1 of 1')
    expect([...shadow(el).querySelectorAll('datalist[part~="versions"] option')].map((o) => o.getAttribute('value'))).toEqual(['1.4.1', '1.4.2'])

    const input = one<HTMLInputElement>(el, 'input[part~="version-filter"]')
    if (!input) throw new Error('no version filter')
    input.value = ' 2.0.0 '
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => row(el, 'j1'), WAIT).toBeNull()
    expect(filters.at(-1)).toMatchObject({ version: ' 2.0.0 ' })
    // The counts are of every version: the page does not claim a total.
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('no jobs')

    input.value = '1.4.1'
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    expect(filters.at(-1)).toMatchObject({ version: '1.4.1' })
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('1–1')

    input.value = '  '
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => filters.at(-1), WAIT).not.toHaveProperty('version')
    expect(one(el, '[part~="page-info"]')?.textContent).toBe('1–1 of 1')
  })
})

describe('<ferry-dashboard> over real queues: metadata and versions as the stores keep them', { timeout: 60_000 }, () => {
  let setup: Setup | undefined
  afterEach(async () => {
    mounted.splice(0).forEach((el) => el.remove())
    await setup?.close()
    setup = undefined
  })

  const filterBy = (el: HTMLElement, version: string) => {
    const input = one<HTMLInputElement>(el, 'input[part~="version-filter"]')
    if (!input) throw new Error('no version filter')
    input.value = version
    input.dispatchEvent(new Event('input'))
  }
  const ids = (el: HTMLElement) => [...shadow(el).querySelectorAll<HTMLElement>('tr[part~=job-row]')].map((r) => r.dataset['jobId'])

  it.each([
    ['memory store', () => memoryStore()],
    ['SQLite store (in memory, on the page)', () => sqliteStore()],
  ] as [string, () => Store][])('%s: shows what one version dispatched and another ran, and filters by either', async (_, makeStore) => {
    const store = makeStore()
    // The older release dispatched; only the newer one runs jobs.
    const older = createQueue<DashJobs>({ store, version: '1.4.1' })
    const newer = createQueue<DashJobs>({ store, version: '1.4.2' })
    newer.register('ok', ({ n }) => n ?? 0)
    try {
      const moved = await older.dispatch(job('ok', { n: 1 }).meta({ userId: 'u1', plan: 'pro' }))
      const later = await older.dispatch(job('ok', { n: 2 }).delay(600_000))
      const fresh = await newer.dispatch(job('ok', { n: 3 }))
      await newer.start()
      const el = mount(newer)
      await expect.poll(() => cell(el, moved.id, 'version'), WAIT).toBe('1.4.1 → 1.4.2')
      await expect.poll(() => cell(el, fresh.id, 'version'), WAIT).toBe('1.4.2')
      expect(cell(el, later.id, 'version')).toBe('1.4.1')

      showButton(el, moved.id).click()
      await expect.poll(() => metaShown(el), WAIT).toEqual([
        ['userId', 'u1'],
        ['plan', 'pro'],
      ])
      expect([field(el, 'dispatchedBy'), field(el, 'processedBy')]).toEqual(['1.4.1', '1.4.2'])

      filterBy(el, '1.4.1')
      await expect.poll(() => ids(el), WAIT).toEqual([moved.id, later.id])
      filterBy(el, '1.4.2')
      await expect.poll(() => ids(el), WAIT).toEqual([moved.id, fresh.id])
      filterBy(el, '9.9.9')
      await expect.poll(() => ids(el), WAIT).toEqual([])
      expect(one(el, '[part~="empty"]')?.hidden).toBe(false)
    } finally {
      await newer.close({ timeoutMs: 100 })
      await older.close({ timeoutMs: 100 })
    }
  })

  it('IndexedDB in a worker, through its client: shows the metadata and the version of the engine there', async () => {
    setup = await inWorker()
    const q = setup.queue
    const done = await q.dispatch(job('ok', {}).meta({ userId: 'u7', beta: true }))
    const el = mount(q)
    await expect.poll(() => cell(el, done.id, 'state'), WAIT).toBe('succeeded')
    expect(cell(el, done.id, 'version')).toBe(WORKER_VERSION)
    showButton(el, done.id).click()
    await expect.poll(() => metaShown(el), WAIT).toEqual([
      ['userId', 'u7'],
      ['beta', 'true'],
    ])
    expect([field(el, 'dispatchedBy'), field(el, 'processedBy')]).toEqual([WORKER_VERSION, WORKER_VERSION])
    filterBy(el, WORKER_VERSION)
    await expect.poll(() => ids(el), WAIT).toEqual([done.id])
    filterBy(el, '1.0.0')
    await expect.poll(() => ids(el), WAIT).toEqual([])
  })
})
