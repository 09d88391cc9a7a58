/**
 * The dashboard under awkward conditions: queue names it does not work, reads that never
 * answer, changes that emit no event, oversized or malformed data, and fast remounts.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { job } from '../../src/index.js'
import { FerryDashboard, type DashboardQueue } from '../../src/dashboard/index.js'
import type { Counts, JobRecord } from '../../src/core/types.js'
import { WAIT, button, countOf, counts, fake, local, one, rec, row, shadow, type Setup } from './setup.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const runState = (el: HTMLElement) => `${one(el, '[part~=run-state]')?.textContent}/${one(el, '[part~=pause]')?.dataset['action']}`
const errorShown = (el: HTMLElement) => (one(el, '[part~=error]')?.hidden ? undefined : one(el, '[part~=error-text]')?.textContent)
const rows = (el: HTMLElement) => shadow(el).querySelectorAll('tr[part~=job-row]').length

describe('<ferry-dashboard> robustness', { timeout: 60_000 }, () => {
  let setup: Setup | undefined
  const uncaught: unknown[] = []
  const onError = (e: ErrorEvent) => {
    uncaught.push(e.error ?? e.message)
    e.preventDefault()
  }

  beforeEach(() => {
    uncaught.length = 0
    window.addEventListener('error', onError)
  })
  afterEach(async () => {
    window.removeEventListener('error', onError)
    document.body.replaceChildren()
    await setup?.close()
    setup = undefined
  })

  const mount = (q: DashboardQueue): FerryDashboard => {
    const el = document.createElement('ferry-dashboard')
    el.style.display = 'block'
    el.style.width = '900px'
    el.queue = q
    document.body.append(el)
    return el
  }

  it('resumes every queue name it shows as paused, also one the engine does not work', async () => {
    setup = await local()
    const q = setup.queue
    const el = mount(q)
    await expect.poll(() => runState(el), WAIT).toBe('Running/pause')
    await q.pause('reports')
    await expect.poll(() => runState(el), WAIT).toBe('Paused/resume')
    button(el, '[part~=pause]').click()
    await expect.poll(() => runState(el), WAIT).toBe('Running/pause')
    expect(await q.pausedQueues()).toEqual([])
  })

  it('shows a queue paused before it was mounted as paused, and its button resumes it; resumed while away shows running', async () => {
    setup = await local()
    const q = setup.queue
    await q.pause()
    const el = mount(q)
    await expect.poll(() => runState(el), WAIT).toBe('Paused/resume')
    button(el, '[part~=pause]').click()
    await expect.poll(() => runState(el), WAIT).toBe('Running/pause')
    expect(await q.pausedQueues()).toEqual([])
    button(el, '[part~=pause]').click()
    await expect.poll(() => runState(el), WAIT).toBe('Paused/resume')
    el.remove()
    await q.resume()
    document.body.append(el)
    await expect.poll(() => runState(el), WAIT).toBe('Running/pause')
  })

  it('gives up on a read that does not answer in 10 s, says so, reads again, and never paints the late answer', async () => {
    let hang = false
    let waiting = 1
    const late: ((c: Counts) => void)[] = []
    const q = fake([rec({})], {
      counts: () => (hang ? new Promise<Counts>((r) => late.push(r)) : Promise.resolve(counts(waiting))),
    })
    const el = mount(q)
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('1')
    hang = true
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'j1' })
    await expect.poll(() => errorShown(el), { timeout: 20_000, interval: 100 }).toBe('The queue did not answer for 10 s.')
    hang = false
    waiting = 7
    await expect.poll(() => countOf(el, 'waiting'), { timeout: 20_000, interval: 100 }).toBe('7')
    expect(errorShown(el)).toBeUndefined()
    expect(late.length).toBeGreaterThan(0)
    for (const answer of late) answer(counts(99))
    await sleep(300)
    expect(countOf(el, 'waiting')).toBe('7')
  })

  it('shows changes that emit no event, such as a prune on an idle queue, within 15 s', async () => {
    setup = await local()
    const q = setup.queue
    const el = mount(q)
    await Promise.all([1, 2, 3].map((n) => q.dispatch(job('ok', { n }))))
    await expect.poll(() => countOf(el, 'succeeded'), WAIT).toBe('3')
    await expect.poll(() => rows(el), WAIT).toBe(3)
    await (q as { prune(before: number): Promise<number> }).prune(Date.now() + 1000)
    await expect.poll(() => [countOf(el, 'succeeded'), rows(el)], WAIT).toEqual(['0', 0])
  })

  it('goes back to the last page with jobs when the page shown empties', async () => {
    setup = await local()
    const q = setup.queue
    const el = mount(q)
    await Promise.all(Array.from({ length: 55 }, (_, n) => q.dispatch(job('ok', { n }))))
    await expect.poll(() => countOf(el, 'succeeded'), WAIT).toBe('55')
    button(el, '[part~=next-page]').click()
    await expect.poll(() => one(el, '[part~=page-info]')?.textContent, WAIT).toMatch(/^51–55/)
    await (q as { prune(before: number): Promise<number> }).prune(Date.now() + 1000)
    await q.dispatch(job('hold', { key: 'page' }).delay(60_000))
    await expect.poll(() => one(el, '[part~=page-info]')?.textContent, WAIT).toMatch(/^1–1 of 1/)
    expect(rows(el)).toBe(1)
  })

  it('shows an error once a local queue is closed', async () => {
    const s = await local()
    const el = mount(s.queue)
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('0')
    await s.close()
    await expect.poll(() => errorShown(el), WAIT).toMatch(/^Could not read the queue: .*closed/i)
  })

  it('clamps a long type, error and chain step to a few lines, with the whole text in the title', async () => {
    const long = 'T'.repeat(3000)
    const message = 'E'.repeat(5000)
    const q = fake([rec({ id: 'a', type: long, error: { name: 'Error', message }, chainId: 'c1', batchId: 'b1' }), rec({ id: 'b' })], {
      findChain: (id) => Promise.resolve({ id, state: 'running', createdAt: 1, current: 0, steps: [{ jobId: 'x', type: long, state: 'active' }] } as never),
      findBatch: (id) => Promise.resolve({ id, name: long, state: 'running', createdAt: 1, total: 3, succeeded: 1, failed: 0, cancelled: 0 } as never),
    })
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(2)
    await expect.poll(() => shadow(el).querySelectorAll('li').length, WAIT).toBe(2)
    const tr = row(el, 'a')!
    expect(tr.getBoundingClientRect().height).toBeLessThan(150)
    const type = tr.querySelector<HTMLElement>('[data-col=type]')!
    expect(type.textContent.length).toBeLessThanOrEqual(81)
    expect(type.textContent.endsWith('…')).toBe(true)
    expect(type.title).toBe(long)
    expect(tr.querySelector<HTMLElement>('[data-col=error]')!.title).toContain(message)
    for (const li of shadow(el).querySelectorAll('li')) expect(li.getBoundingClientRect().height).toBeLessThan(150)
    expect(shadow(el).querySelector('[part~=dashboard]')!.scrollWidth).toBeLessThanOrEqual(900)
  })

  it('filters by an exact type with spaces around it; a blank filter means any type', async () => {
    setup = await local()
    const q = setup.queue
    const el = mount(q)
    await q.dispatch(job(' spaced' as 'ok', {}).delay(60_000))
    await q.dispatch(job('ok', {}).delay(60_000))
    await expect.poll(() => countOf(el, 'delayed'), WAIT).toBe('2')
    const input = one<HTMLInputElement>(el, '[part~=type-filter]')!
    input.value = ' spaced'
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => [...shadow(el).querySelectorAll<HTMLElement>('tr[part~=job-row]')].map((r) => r.dataset['type']), WAIT).toEqual([' spaced'])
    input.value = '   '
    input.dispatchEvent(new Event('input'))
    await expect.poll(() => rows(el), WAIT).toBe(2)
  })

  it('reads a large progress object once per changed record, not at every redraw, and shows it cut short', async () => {
    let reads = 0
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`)
    const progress = Object.defineProperty({}, 'log', { enumerable: true, get: () => (reads++, lines) })
    const q = fake(Array.from({ length: 50 }, (_, i) => rec({ id: `p${i}`, state: 'active', progress })))
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(50)
    const after = reads
    expect(after).toBeLessThanOrEqual(50 * 2)
    await sleep(2500) // the chart's clock redraws the element every second
    expect(reads).toBe(after)
    const text = row(el, 'p0')!.querySelector('[data-col=progress]')!
    expect(text.textContent.length).toBeLessThanOrEqual(61)
    expect((text as HTMLElement).title.length).toBeLessThanOrEqual(2001)
  })

  it('refills its rows in place when every job on the page changes: no row is moved, added or removed, focus follows its job', async () => {
    const page = (prefix: string, state: JobRecord['state']) => Array.from({ length: 50 }, (_, i) => rec({ id: `${prefix}${i}`, type: `t${prefix}`, state }))
    let jobs = page('a', 'waiting')
    const q = fake([], { listJobs: () => Promise.resolve(jobs) })
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(50)
    const body = one(el, 'tbody')!
    const moved: MutationRecord[] = []
    const observer = new MutationObserver((records) => moved.push(...records.filter((r) => r.type === 'childList')))
    observer.observe(body, { childList: true })
    button(el, 'button[data-action=cancel][data-job-id="a0"]').focus()
    // Half new jobs first, then the old ones shifted down: a table keyed by job would move them.
    jobs = [...page('b', 'failed').slice(0, 25), ...jobs.slice(0, 25)]
    q.emit({ kind: 'job:succeeded', at: Date.now(), jobId: 'a49' })
    const ids = () => [...shadow(el).querySelectorAll<HTMLElement>('tr[part~=job-row]')].map((r) => r.dataset['jobId'])
    await expect.poll(ids, WAIT).toEqual(jobs.map((j) => j.id))
    observer.disconnect()
    expect(moved.length).toBe(0)
    // The focused button followed its job down the page.
    expect((shadow(el).activeElement as HTMLElement | null)?.dataset['jobId']).toBe('a0')
    for (const j of jobs) {
      const tr = row(el, j.id)!
      expect([tr.dataset['state'], tr.dataset['type'], tr.querySelector('[data-col=id]')?.textContent]).toEqual([j.state, j.type, j.id])
      const action = j.state === 'failed' ? 'replay' : 'cancel'
      expect([...tr.querySelectorAll<HTMLElement>('button[data-action]')].map((b) => `${b.dataset['action']} ${b.dataset['jobId']}`)).toEqual([
        `show-job ${j.id}`,
        `${action} ${j.id}`,
      ])
    }
  })

  it('has at most one read in flight through 200 quick remounts and queue switches', async () => {
    let inFlight = 0
    let most = 0
    const slow = <T,>(v: T) => {
      most = Math.max(most, ++inFlight)
      return new Promise<T>((r) => setTimeout(() => (inFlight--, r(v)), 200))
    }
    const q = fake([rec({})], { counts: () => slow(counts(1)) })
    const other = fake([rec({ id: 'other' })], { counts: () => slow(counts(2)) })
    const el = mount(q)
    for (let i = 0; i < 200; i++) {
      el.remove()
      document.body.append(el)
      if (i % 20 === 0) el.queue = i % 40 === 0 ? other : q
    }
    el.queue = q
    await expect.poll(() => countOf(el, 'waiting'), WAIT).toBe('1')
    await sleep(500)
    expect(most).toBe(1)
  })

  it('ignores malformed events and keeps listening', async () => {
    const q = fake([rec({})])
    const el = mount(q)
    await expect.poll(() => rows(el), WAIT).toBe(1)
    for (const e of [
      null, 42, {}, { kind: 7 },
      { kind: 'queue:error', at: 1, error: null }, { kind: 'queue:error', at: 1 }, { kind: 'queue:error', at: 1, error: { message: 5 } },
      { kind: 'queue:paused', at: 1, queue: 42 }, { kind: 'chain:started', at: 1 }, { kind: 'job:dispatched', at: 1, chainId: 5, batchId: {} },
      { kind: 'batch:progress', at: 1, batchId: 'b', state: null }, { kind: 'batch:progress', at: 1, batchId: 'b', state: 3 },
    ]) q.emit(e)
    await sleep(300)
    expect(uncaught).toEqual([])
    q.emit({ kind: 'queue:error', at: 1, error: { name: 'Error', message: 'disk full' } })
    await expect.poll(() => errorShown(el), WAIT).toBe('The queue reported an error: disk full')
  })

  it('takes two quick clicks on Cancel or Replay as one', async () => {
    setup = await local()
    const q = setup.queue
    const el = mount(q)
    const w = await q.dispatch(job('hold', { key: 'dbl' }).delay(60_000))
    await expect.poll(() => row(el, w.id)?.dataset['state'], WAIT).toBe('delayed')
    const cancel = button(el, `button[data-action=cancel][data-job-id="${w.id}"]`)
    cancel.click()
    cancel.click()
    await expect.poll(() => row(el, w.id)?.dataset['state'], WAIT).toBe('cancelled')
    const replay = button(el, `button[data-action=replay][data-job-id="${w.id}"]`)
    replay.click()
    replay.click()
    await expect.poll(() => row(el, w.id)?.dataset['state'], WAIT).toMatch(/^(waiting|active|delayed)$/)
    setup.steering.release('dbl')
    await sleep(300)
    expect(errorShown(el)).toBeUndefined()
  })
})
