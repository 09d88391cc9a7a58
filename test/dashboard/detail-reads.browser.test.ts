/**
 * The dashboard when one job's details cannot be read, and with records that are damaged or
 * oversized: the rest of the element stays live, and the cost does not grow with the data.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FerryDashboard, type DashboardQueue } from '../../src/dashboard/index.js'
import type { JobFilter, JobRecord } from '../../src/core/types.js'
import { WAIT, button, countOf, counts, fake, one, rec, row, shadow } from './setup.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const errorShown = (el: HTMLElement) => (one(el, '[part~=error]')?.hidden ? undefined : one(el, '[part~=error-text]')?.textContent)
const rows = (el: HTMLElement) => shadow(el).querySelectorAll('tr[part~=job-row]').length
const detail = (el: HTMLElement) => one(el, '[part~="job-detail"]')
const open = (el: HTMLElement) => {
  const d = detail(el)
  return d && !d.hidden ? d.dataset['jobId'] : undefined
}
const detailError = (el: HTMLElement) => {
  const e = detail(el)?.querySelector<HTMLElement>('[part~="detail-error"]')
  return e && !e.hidden ? e.textContent : undefined
}
const field = (el: HTMLElement, name: string) => {
  const f = detail(el)?.querySelector<HTMLElement>(`[data-field="${name}"]`)
  return f && !f.hidden ? f.querySelector('dd')?.textContent : undefined
}
const showButton = (el: HTMLElement, id: string) => button(el, `button[data-action="show-job"][data-job-id="${CSS.escape(id)}"]`)
const closeButton = (el: HTMLElement) => button(el, '[part~="job-detail"] button[data-action="close-detail"]')
const errorCell = (el: HTMLElement, id: string) => row(el, id)?.querySelector<HTMLElement>('[data-col=error]')
const versionInput = (el: HTMLElement) => {
  const input = one<HTMLInputElement>(el, 'input[part~="version-filter"]')
  if (!input) throw new Error('no version filter')
  return input
}
const typeCell = (el: HTMLElement, i: number) => shadow(el).querySelectorAll('tr[part~=job-row] [data-col=type]')[i]?.textContent

describe('<ferry-dashboard> details read on their own, and damaged records', { timeout: 60_000 }, () => {
  const uncaught: unknown[] = []
  const onError = (e: ErrorEvent) => {
    uncaught.push(e.error ?? e.message)
    e.preventDefault()
  }
  beforeEach(() => {
    uncaught.length = 0
    window.addEventListener('error', onError)
  })
  afterEach(() => {
    window.removeEventListener('error', onError)
    document.body.replaceChildren()
  })
  const mount = (q: DashboardQueue): FerryDashboard => {
    const el = document.createElement('ferry-dashboard')
    el.style.display = 'block'
    el.style.width = '900px'
    el.queue = q
    document.body.append(el)
    return el
  }

  it('keeps the counts and the table live while the open job does not answer, says so in the panel only, and reads it once at a time', async () => {
    let waiting = 1
    let jobs = [rec({ id: 'j1' })]
    let hang = false
    let inFlight = 0
    let most = 0
    const late: (() => void)[] = []
    const q = fake([], {
      counts: () => Promise.resolve(counts(waiting)),
      listJobs: () => Promise.resolve(jobs),
      getJob: (id) => {
        if (!hang) return Promise.resolve(jobs.find((j) => j.id === id))
        most = Math.max(most, ++inFlight)
        return new Promise((resolve) => late.push(() => (inFlight--, resolve(undefined))))
      },
    })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => field(el, 'state'), WAIT).toBe('failed')
    hang = true
    for (let i = 2; i <= 6; i++) {
      waiting = i
      jobs = [...jobs, rec({ id: `j${i}` })]
      q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
      await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe(String(i))
      await expect.poll(() => row(el, `j${i}`), WAIT).not.toBeNull()
    }
    await expect.poll(() => detailError(el), { timeout: 20_000, interval: 100 }).toBe('This job did not answer for 10 s: shown as last read.')
    // The last read is still shown, and the queue as a whole is not said to fail.
    expect(field(el, 'state')).toBe('failed')
    expect(errorShown(el)).toBeUndefined()
    waiting = 9
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('9')
    expect(most).toBe(1)
    expect(late.length).toBe(1)
    expect(uncaught).toEqual([])
    for (const answer of late) answer()
  })

  it('shows a getJob that fails in the panel, and the table goes on', async () => {
    let waiting = 1
    let fail = false
    const q = fake([rec({ id: 'j1' })], {
      counts: () => Promise.resolve(counts(waiting)),
      getJob: (id) => (fail ? Promise.reject(new Error('disk on fire')) : Promise.resolve(rec({ id }))),
    })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => field(el, 'state'), WAIT).toBe('failed')
    fail = true
    waiting = 4
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('4')
    await expect.poll(() => detailError(el), WAIT).toBe('Could not read this job: disk on fire. Shown as last read.')
    expect(errorShown(el)).toBeUndefined()
    fail = false
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await expect.poll(() => detailError(el), WAIT).toBeUndefined()
  })

  it('reads the page again at once when the details close', async () => {
    const filters: JobFilter[] = []
    const q = fake([], {
      listJobs: (f) => (filters.push(f ?? {}), Promise.resolve([rec({ id: 'j1' })])),
      getJob: () => new Promise<JobRecord | undefined>(() => {}),
    })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBe('j1')
    await sleep(500)
    const before = filters.length
    closeButton(el).click()
    // Well before the next poll (5 s).
    await expect.poll(() => filters.length, { timeout: 3000, interval: 25 }).toBeGreaterThan(before)
  })

  it('reads a huge error message once per record and shows at most 10,000 characters of it', async () => {
    let reads = 0
    const big = 'E'.repeat(1_000_000)
    const error = Object.defineProperty({ name: 'Error' }, 'message', { enumerable: true, get: () => (reads++, big) }) as JobRecord['error']
    const q = fake(Array.from({ length: 50 }, (_, i) => rec({ id: `e${i}`, error })))
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(50)
    const after = reads
    await sleep(2500) // the chart's clock redraws the element every second
    expect(reads).toBe(after)
    const cell = errorCell(el, 'e0')!
    expect(cell.title.length).toBeLessThanOrEqual(10_001)
    expect(cell.textContent.length).toBeLessThanOrEqual(10_001)
    expect(cell.title.startsWith('Error: EEE')).toBe(true)
  })

  it('reads at most a page of a damaged metadata with 200,000 keys, once per record', async () => {
    let reads = 0
    const keys = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]))
    const meta = new Proxy(keys, { get: (t, k, r) => (reads++, Reflect.get(t, k, r)) }) as unknown as JobRecord['meta']
    const j = rec({ id: 'j1', meta })
    const q = fake([j], { getJob: () => Promise.resolve(j) })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => detail(el)?.querySelectorAll('[part~="meta-entry"]').length, WAIT).toBe(64)
    expect(detail(el)?.querySelector('[part~="meta-more"]')).not.toBeNull()
    const after = reads
    expect(after).toBeLessThanOrEqual(65 * 2)
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await sleep(2500)
    expect(reads).toBe(after)
  })

  it('shows a type that is not a string as text, and renders every row', async () => {
    const bad = (type: unknown) => rec({ id: `t${String(type)}`, type: type as string })
    const q = fake([bad(null), bad(undefined), bad(42), bad({ a: 1 }), rec({ id: 'ok', type: 'email' })])
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(5)
    expect([0, 1, 2, 3, 4].map((i) => typeCell(el, i))).toEqual(['null', '', '42', '{"a":1}', 'email'])
    showButton(el, 'tnull').click()
    await expect.poll(() => field(el, 'type'), WAIT).toBe('null')
    expect(uncaught).toEqual([])
  })

  it('shows an error that is a string, or has no name, as what it holds', async () => {
    const asString = rec({ id: 's', error: 'boom' as unknown as JobRecord['error'] })
    const noName = rec({ id: 'n', error: { message: 'only a message' } as JobRecord['error'] })
    const noMessage = rec({ id: 'm', error: { name: 'TypeError', code: 'E_X' } as unknown as JobRecord['error'] })
    const jobs = [asString, noName, noMessage]
    const q = fake(jobs, { getJob: (id) => Promise.resolve(jobs.find((j) => j.id === id)) })
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(3)
    expect(['s', 'n', 'm'].map((id) => [errorCell(el, id)?.textContent, errorCell(el, id)?.title])).toEqual([
      ['boom', 'boom'],
      ['only a message', 'only a message'],
      ['TypeError', 'TypeError (E_X)'],
    ])
    const shown: (string | undefined)[] = []
    for (const id of ['s', 'n', 'm']) {
      showButton(el, id).click()
      await expect.poll(() => open(el), WAIT).toBe(id)
      await expect.poll(() => field(el, 'error'), WAIT).toBeDefined()
      shown.push(field(el, 'error'))
    }
    expect(shown).toEqual(['boom', 'only a message', 'TypeError (E_X)'])
  })

  it('filters by a version with spaces in it, as offered', async () => {
    const filters: JobFilter[] = []
    const jobs = [rec({ id: 'j1', dispatchedBy: ' 1.4.1 ' })]
    const q = fake([], {
      listJobs: (f) => (filters.push(f ?? {}), Promise.resolve(f?.version === undefined || f.version === ' 1.4.1 ' ? jobs : [])),
    })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    const offered = [...shadow(el).querySelectorAll('datalist[part~="versions"] option')].map((o) => o.getAttribute('value'))
    expect(offered).toEqual([' 1.4.1 '])
    const input = versionInput(el)
    input.value = offered[0]!
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => filters.at(-1)?.version, WAIT).toBe(' 1.4.1 ')
    expect(row(el, 'j1')).not.toBeNull()
  })

  it('says next to the filter that a version with half a surrogate pair is not valid, and does not read with it', async () => {
    const filters: JobFilter[] = []
    const q = fake([], { listJobs: (f) => (filters.push(f ?? {}), Promise.resolve([rec({ id: 'j1' })])) })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    const input = versionInput(el)
    const note = () => {
      const n = one(el, '[part~="version-filter-error"]')
      return n && !n.hidden ? n.textContent : undefined
    }
    input.value = '1.4\uD800'
    input.dispatchEvent(new Event('input'))
    await expect.poll(note, WAIT).toBe('Not a version: it holds half of a surrogate pair.')
    expect(input.getAttribute('aria-invalid')).toBe('true')
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await sleep(600)
    expect(filters.some((f) => f.version !== undefined)).toBe(false)
    expect(errorShown(el)).toBeUndefined()
    input.value = '1.4.2'
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => filters.at(-1)?.version, WAIT).toBe('1.4.2')
    await expect.poll(note, WAIT).toBeUndefined()
    expect(input.hasAttribute('aria-invalid')).toBe(false)
  })

  it('gives the focus to the table when the details close of a job no longer on the page', async () => {
    let jobs = [rec({ id: 'j1' }), rec({ id: 'j2' })]
    const q = fake([], { listJobs: () => Promise.resolve(jobs), getJob: (id) => Promise.resolve(rec({ id })) })
    const el = mount(q)
    await expect.poll(() => row(el, 'j1'), WAIT).not.toBeNull()
    showButton(el, 'j1').click()
    await expect.poll(() => open(el), WAIT).toBe('j1')
    jobs = [rec({ id: 'j2' })]
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1', type: 't' })
    await expect.poll(() => row(el, 'j1'), WAIT).toBeNull()
    expect(shadow(el).activeElement).toBe(detail(el))
    closeButton(el).focus()
    closeButton(el).click()
    await expect.poll(() => open(el), WAIT).toBeUndefined()
    expect(shadow(el).activeElement).toBe(showButton(el, 'j2'))

    // With no job on the page, the filters take it.
    showButton(el, 'j2').click()
    await expect.poll(() => open(el), WAIT).toBe('j2')
    jobs = []
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j2', type: 't' })
    await expect.poll(() => rows(el), WAIT).toBe(0)
    closeButton(el).click()
    await expect.poll(() => open(el), WAIT).toBeUndefined()
    expect(shadow(el).activeElement).toBe(one(el, 'select[part~="state-filter"]'))
  })
})
