/**
 * The dashboard's shadow DOM, built once, and `render`, which brings it in line with the model:
 * each part compares and writes only what changed.
 *
 * @module
 */
import type { Counts, JobState } from '../core/types.js'
import { formatCount, h, setAttr, setDisabled, setText } from './dom.js'
import { GroupList } from './group-list.js'
import { JobDetail } from './job-detail.js'
import { COLUMNS, JobTable, hasVersion } from './job-table.js'
import { PAGE_SIZE, STATES, type Model } from './model.js'
import { CSS } from './styles.js'
import { drawChart, makeChart, type Chart } from './throughput.js'

export interface View {
  network: HTMLElement
  runState: HTMLElement
  pause: HTMLButtonElement
  error: HTMLElement
  errorText: HTMLElement
  counts: Map<JobState, { button: HTMLButtonElement; value: HTMLElement }>
  chart: Chart
  chains: GroupList
  batches: GroupList
  stateFilter: HTMLSelectElement
  typeFilter: HTMLInputElement
  types: HTMLDataListElement
  versionFilter: HTMLInputElement
  /** Why the version typed is not used, next to the filter. */
  versionNote: HTMLElement
  versions: HTMLDataListElement
  pageInfo: HTMLElement
  prev: HTMLButtonElement
  next: HTMLButtonElement
  table: JobTable
  /** The table element: `data-versions` while a job on the page has a version (the column shows then). */
  jobs: HTMLTableElement
  detail: JobDetail
  empty: HTMLElement
}

export function buildView(root: ShadowRoot): View {
  const network = h('span', { part: 'network', class: 'pill', role: 'status', hidden: true })
  const runState = h('span', { part: 'run-state', class: 'pill', role: 'status' }, 'Running')
  const pause = h('button', { type: 'button', part: 'pause', 'data-action': 'pause' }, 'Pause')
  const errorText = h('span', { part: 'error-text' })
  const dismiss = h('button', { type: 'button', part: 'dismiss', 'data-action': 'dismiss', 'aria-label': 'Dismiss the error' }, '×')
  const error = h('div', { part: 'error', role: 'alert', hidden: true }, errorText, dismiss)

  const counts = new Map<JobState, { button: HTMLButtonElement; value: HTMLElement }>()
  const countsBox = h('div', { part: 'counts', role: 'group', 'aria-label': 'Jobs per state (select one to filter)' })
  for (const state of STATES) {
    const value = h('span', { part: 'count-value', class: 'count-value' }, '–')
    const button = h(
      'button',
      { type: 'button', part: 'count', 'data-state': state, 'data-action': 'filter-state', 'aria-pressed': 'false' },
      h('span', { part: 'count-label' }, state),
      value,
    )
    counts.set(state, { button, value })
    countsBox.append(button)
  }

  const rate = h('span', { part: 'rate' }, '0.0 jobs/s')
  const peak = h('span', { part: 'peak' }, 'peak 0/s')
  const chart = makeChart(rate, peak)
  const chains = new GroupList('chain')
  const batches = new GroupList('batch')

  const stateFilter = h('select', { part: 'state-filter' }, h('option', { value: '' }, 'all states'), ...STATES.map((s) => h('option', { value: s }, s)))
  const types = h('datalist', { id: 'ferry-types' })
  const typeFilter = h('input', { part: 'type-filter', type: 'search', list: 'ferry-types', placeholder: 'any type', spellcheck: 'false', autocomplete: 'off' })
  const versions = h('datalist', { id: 'ferry-versions', part: 'versions' })
  const versionFilter = h('input', {
    part: 'version-filter', type: 'search', list: 'ferry-versions', placeholder: 'any version', spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'ferry-version-note',
  })
  const versionNote = h('span', { id: 'ferry-version-note', part: 'version-filter-error', role: 'status', hidden: true })
  const pageInfo = h('span', { part: 'page-info' })
  const prev = h('button', { type: 'button', part: 'prev-page', 'data-action': 'prev-page' }, '‹ Previous')
  const next = h('button', { type: 'button', part: 'next-page', 'data-action': 'next-page' }, 'Next ›')
  const body = h('tbody', { part: 'job-rows' })
  const head = h('thead', {}, h('tr', {}, ...COLUMNS.map(([col, label]) => h('th', { scope: 'col', 'data-col': col }, label))))
  const empty = h('p', { part: 'empty', hidden: true }, 'No jobs match.')
  const jobs = h('table', { part: 'jobs' }, h('caption', { hidden: true }, 'Jobs'), head, body)
  const detail = new JobDetail()

  root.replaceChildren(
    h('style', {}, CSS),
    h(
      'div',
      { part: 'dashboard' },
      h('header', { part: 'header' }, h('h2', { part: 'title' }, 'Queue'), network, runState, pause),
      error,
      h('section', { 'aria-label': 'Counts' }, countsBox),
      h('section', { part: 'throughput', 'aria-label': 'Throughput' }, chart.root, rate, peak),
      h(
        'section',
        { class: 'groups', 'aria-label': 'Chains and batches' },
        h('div', { part: 'chains-box' }, h('h3', {}, 'Chains'), chains.root),
        h('div', { part: 'batches-box' }, h('h3', {}, 'Batches'), batches.root),
      ),
      h(
        'section',
        { 'aria-label': 'Jobs' },
        h(
          'div',
          { part: 'filters' },
          h('label', {}, 'State', stateFilter),
          h('label', {}, 'Type', typeFilter),
          types,
          h('label', {}, 'Version', versionFilter),
          versionNote,
          versions,
          pageInfo,
          prev,
          next,
        ),
        detail.root,
        h('div', { class: 'table-wrap' }, jobs),
        empty,
      ),
    ),
  )
  return {
    network, runState, pause, error, errorText, counts, chart, chains, batches, stateFilter, typeFilter, types,
    versionFilter, versionNote, versions, pageInfo, prev, next, table: new JobTable(body), jobs, detail, empty,
  }
}

function total(c: Counts | undefined, state: JobState | undefined): number | undefined {
  if (!c) return undefined
  return state ? c[state] : STATES.reduce((n, s) => n + c[s], 0)
}

/** Types (and versions) seen on the page, offered by the type (and version) filter; bounded, the first kept. */
const TYPES_OFFERED = 50

/** Adds what is not offered yet to a datalist, up to `TYPES_OFFERED` options. */
function offer(list: HTMLDataListElement, values: Iterable<unknown>): void {
  const known = new Set([...list.options].map((o) => o.value))
  for (const v of values) {
    if (typeof v !== 'string' || known.has(v) || known.size >= TYPES_OFFERED) continue
    known.add(v)
    list.append(h('option', { value: v }))
  }
}

export function render(v: View, m: Model): void {
  setAttr(v.network, 'hidden', m.online === undefined)
  setAttr(v.network, 'data-online', m.online === undefined ? undefined : String(m.online))
  setText(v.network, m.online === false ? 'Offline' : 'Online')

  const paused = m.paused.size > 0
  setAttr(v.runState, 'data-paused', String(paused))
  setText(v.runState, paused ? 'Paused' : 'Running')
  setAttr(v.pause, 'data-action', paused ? 'resume' : 'pause')
  setText(v.pause, paused ? 'Resume' : 'Pause')
  setDisabled(v.pause, m.pausing)

  const error = m.error ?? m.readError
  setAttr(v.error, 'hidden', error === undefined)
  setText(v.errorText, error ?? '')

  for (const [state, { button, value }] of v.counts) {
    const n = m.counts?.[state]
    // Its text reads "waiting 12": no label to keep in step with the number.
    setText(value, n === undefined ? '–' : formatCount(n))
    setAttr(button, 'data-count', n)
    setAttr(button, 'aria-pressed', String(m.filter.state === state))
  }

  drawChart(v.chart, m.throughput)
  v.chains.update(m.groups.chains.list(), m.replayable.chain, m.groupsBusy)
  v.batches.update(m.groups.batches.list(), m.replayable.batch, m.groupsBusy)

  if (v.stateFilter.value !== (m.filter.state ?? '')) v.stateFilter.value = m.filter.state ?? ''
  setAttr(v.versionNote, 'hidden', m.versionInvalid === undefined)
  setText(v.versionNote, m.versionInvalid ?? '')
  setAttr(v.versionFilter, 'aria-invalid', m.versionInvalid === undefined ? undefined : 'true')
  v.table.update(m.jobs, m.busy, m.detail?.id)
  setAttr(v.jobs, 'data-versions', m.jobs.some(hasVersion))
  v.detail.update(m.detail)
  setAttr(v.empty, 'hidden', m.jobs.length > 0)
  const { offset } = m.filter
  // The counts are per state only: a page filtered otherwise has no known total.
  const of = m.filter.type === undefined && m.filter.version === undefined ? total(m.counts, m.filter.state) : undefined
  const range = m.jobs.length === 0 ? 'no jobs' : `${offset + 1}–${offset + m.jobs.length}`
  setText(v.pageInfo, of === undefined ? range : `${range} of ${formatCount(of)}`)
  setDisabled(v.prev, offset === 0)
  setDisabled(v.next, m.jobs.length < PAGE_SIZE)

  offer(v.types, m.jobs.map((j) => j.type))
  offer(v.versions, m.jobs.flatMap((j) => [j.dispatchedBy, j.processedBy]))
}
