/**
 * The table of jobs, updated in place and by position: row `i` shows the `i`th job of the page.
 * Rows are made when first needed and kept; a refresh refills them and adds or removes rows only
 * at the end, when the page got longer or shorter. Moving rows to follow their job (a page
 * filtered to waiting jobs shifts at every refresh) costs a layout of the whole table each time.
 *
 * Each cell holds one box with `contain: strict` and one text node: writing the text changes
 * that box only, not the table's layout or the page's. Cells are written only when their text
 * changed. Everything from a job goes in as text or as an attribute value.
 *
 * A job's id is a button that opens its details (`job-detail.ts`); the row of the job whose
 * details are open has `data-selected`. The version column shows the queue version that
 * dispatched a job and the engine version that ran its last attempt, "1.4.1 → 1.4.2" when
 * they differ; the view hides it while no job on the page has a version.
 *
 * @module
 */
import type { JobRecord, JobState } from '../core/types.js'
import { h, setAttr, setDisabled, setText } from './dom.js'

export const COLUMNS = [
  ['id', 'ID'],
  ['type', 'Type'],
  ['state', 'State'],
  ['attempts', 'Attempts'],
  ['version', 'Version'],
  ['progress', 'Progress'],
  ['error', 'Last error'],
  ['actions', 'Actions'],
] as const

type Column = (typeof COLUMNS)[number][0]

const REPLAYABLE: ReadonlySet<JobState> = new Set(['failed', 'cancelled'])
const CANCELLABLE: ReadonlySet<JobState> = new Set(['waiting', 'active', 'delayed', 'blocked'])

/** Longest text shown for an object progress value; more of it is in the cell's title. */
const PROGRESS_CHARS = 60

/** Longest progress text read of an object, for the title: a huge object is not walked whole. */
const PROGRESS_TITLE_CHARS = 2000

/** Longest type shown; the whole of it is in the cell's title. */
export const TYPE_CHARS = 80

/** Longest version shown (each of the two); the whole of it is in the cell's title. */
export const VERSION_CHARS = 40

/** Longest version put in a title: a record may hold anything. */
const VERSION_TITLE_CHARS = 1000

/** Longest error (or type) text put in a cell or its title, as in the details panel: a message may be megabytes. */
export const TITLE_CHARS = 10_000

interface Row {
  tr: HTMLTableRowElement
  cells: Record<Column, HTMLTableCellElement>
  /** The contained box in each cell, which holds what the cell shows. */
  boxes: Record<Column, HTMLDivElement>
  /** The text of the id, type, state, attempts and version cells. */
  texts: Record<'id' | 'type' | 'state' | 'attempts' | 'version', Text>
  /** The id, as the button that opens the job's details. */
  link: HTMLButtonElement
  bar: HTMLProgressElement
  barText: HTMLSpanElement
  errorText: HTMLSpanElement
  replay: HTMLButtonElement
  cancel: HTMLButtonElement
  /** What the row shows, in one string: a row whose job did not change is not touched. */
  shown: string
  /** The record and flags `shown` was made of: the same record again is not even compared. */
  job?: JobRecord
  flags: string
}

function makeRow(): Row {
  const boxes = Object.fromEntries(COLUMNS.map(([col]) => [col, h('div', { class: 'cell-box' })])) as Row['boxes']
  const cells = Object.fromEntries(COLUMNS.map(([col]) => [col, h('td', { 'data-col': col, part: `cell cell-${col}` }, boxes[col])])) as Row['cells']
  const tr = h('tr', { part: 'job-row' }, ...COLUMNS.map(([col]) => cells[col]))
  const texts = { id: new Text(), type: new Text(), state: new Text(), attempts: new Text(), version: new Text() }
  const link = h('button', { type: 'button', part: 'job-link', class: 'job-link', 'data-action': 'show-job', 'aria-expanded': 'false' }, texts.id)
  boxes.id.append(link)
  for (const col of ['type', 'state', 'attempts', 'version'] as const) boxes[col].append(texts[col])
  const bar = h('progress', { part: 'job-progress', max: 100 })
  const barText = h('span', { part: 'job-progress-text' })
  const errorText = h('span', { part: 'job-error' })
  boxes.error.append(errorText)
  const replay = h('button', { type: 'button', part: 'action replay-button', 'data-action': 'replay' }, 'Replay')
  const cancel = h('button', { type: 'button', part: 'action cancel-button', 'data-action': 'cancel' }, 'Cancel')
  return { tr, cells, boxes, texts, link, bar, barText, errorText, replay, cancel, shown: '', flags: '' }
}

/** Sets a text node's data when it differs: no new node, so nothing to restyle. */
function setData(t: Text, data: string): void {
  if (t.data !== data) t.data = data
}

/** Everything a row shows of a job, in one string to compare: texts already cut, so it stays small. */
function shownOf(j: JobRecord, busy: boolean, selected: boolean): string {
  const p = typeof j.progress === 'number' || j.progress === undefined ? j.progress : progressOf(j).title
  const { type, error } = textsOf(j)
  return JSON.stringify([j.id, type, j.state, j.attempt, j.maxAttempts, p, error, versionOf(j), busy, selected])
}

/** `s`, cut at `max` characters with an ellipsis. */
const cut = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max)}…` : s)

/** A value as text: a string as it is, nothing for `undefined`, anything else as JSON; cut at `max`. */
export function asText(v: unknown, max: number): string {
  if (v === undefined) return ''
  return typeof v === 'string' ? cut(v, max) : preview(v, max)
}

/**
 * A job's error as text: "name (code): message" with the parts it has, a message alone when
 * that is all, and an error that is not an object (a string from elsewhere) as itself.
 * `text` is the short form a cell shows (the message, or else the rest).
 */
export function errorOf(e: unknown, max: number): { text: string; title: string } | undefined {
  if (e === undefined || e === null) return undefined
  if (typeof e !== 'object') {
    const text = asText(e, max)
    return { text, title: text }
  }
  const { name, code, message } = e as Record<string, unknown>
  const [n, c, m] = [asText(name, max), asText(code, max), asText(message, max)]
  const head = c === '' ? n : n === '' ? `(${c})` : `${n} (${c})`
  const title = head !== '' && m !== '' ? cut(`${head}: ${m}`, max) : head || m || preview(e, max)
  return { text: m || n || title, title }
}

interface RecordTexts {
  type: { text: string; title?: string }
  error?: { text: string; title: string }
}

/** The type and error texts of each record seen: a record is never changed, so it is read once. */
const recordTexts = new WeakMap<JobRecord, RecordTexts>()

function textsOf(j: JobRecord): RecordTexts {
  let t = recordTexts.get(j)
  if (t) return t
  // A type from a damaged record may be anything: shown as text like the other fields.
  const type = asText(j.type, TITLE_CHARS)
  const error = errorOf(j.error, TITLE_CHARS)
  t = { type: type.length > TYPE_CHARS ? { text: `${type.slice(0, TYPE_CHARS)}…`, title: type } : { text: type }, ...(error && { error }) }
  recordTexts.set(j, t)
  return t
}

/** Whether a job has a version to show. */
export const hasVersion = (j: JobRecord): boolean => j.dispatchedBy !== undefined || j.processedBy !== undefined

const versionText = (v: unknown, max: number): string | undefined => {
  if (v === undefined) return undefined
  const s = typeof v === 'string' ? v : preview(v, max)
  return s.length > max ? `${s.slice(0, max)}…` : s
}

/** "1.4.1 → 1.4.2", "1.4.2" when both are the same or only the dispatching one is known, "→ 1.4.2" for only the running one. */
function versionOf(j: JobRecord): { text: string; title?: string } {
  const [d, p] = [versionText(j.dispatchedBy, VERSION_CHARS), versionText(j.processedBy, VERSION_CHARS)]
  const [dt, pt] = [versionText(j.dispatchedBy, VERSION_TITLE_CHARS), versionText(j.processedBy, VERSION_TITLE_CHARS)]
  if (d === undefined && p === undefined) return { text: '' }
  const text = p === undefined ? `${d}` : d === undefined ? `→ ${p}` : d === p ? d : `${d} → ${p}`
  const title = pt === undefined ? `Dispatched by ${dt}` : dt === undefined ? `Processed by ${pt}` : `Dispatched by ${dt}, processed by ${pt}`
  return { text, title }
}

interface Progress {
  percent?: number
  text: string
  /** The longer text, when the shown one is cut. */
  title?: string
}

/** The progress of each record seen: a record is never changed, so it is read once. */
const progressShown = new WeakMap<JobRecord, Progress>()

/** A number is a percentage; anything else is shown as JSON, cut short. */
function progressOf(j: JobRecord): Progress {
  let p = progressShown.get(j)
  if (p) return p
  const v = j.progress
  if (v === undefined || v === null) p = { text: '' }
  else if (typeof v === 'number' && Number.isFinite(v)) {
    const percent = Math.max(0, Math.min(100, v))
    p = { percent, text: `${Math.round(percent)}%` }
  } else {
    const title = preview(v, PROGRESS_TITLE_CHARS)
    p = title.length > PROGRESS_CHARS ? { text: `${title.slice(0, PROGRESS_CHARS)}…`, title } : { text: title }
  }
  progressShown.set(j, p)
  return p
}

/**
 * `value` as JSON, cut at `max` characters ("…" then): it stops walking there, so the cost
 * does not grow with the size of the value. Cycles and what JSON cannot hold are shown as text.
 */
export function preview(value: unknown, max: number): string {
  let out = ''
  const path = new Set<object>()
  const put = (s: string): boolean => (out += s).length <= max
  const walk = (v: unknown): boolean => {
    if (v === null || typeof v === 'boolean') return put(String(v))
    if (typeof v === 'number') return put(Number.isFinite(v) ? String(v) : 'null')
    if (typeof v === 'string') return put(JSON.stringify(v.length > max ? v.slice(0, max) : v))
    if (typeof v === 'bigint') return put(String(v))
    if (typeof v !== 'object') return put('null')
    if (path.has(v)) return put('"(circular)"')
    const toJSON = (v as { toJSON?: unknown }).toJSON
    if (typeof toJSON === 'function') return walk(toJSON.call(v))
    path.add(v)
    let done: boolean
    if (Array.isArray(v)) {
      done = put('[') && v.every((x, i) => (i === 0 || put(',')) && walk(x)) && put(']')
    } else {
      let first = true
      done = put('{')
      for (const k in v) {
        if (!done) break
        if (!Object.hasOwn(v, k)) continue
        const x = (v as Record<string, unknown>)[k]
        if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue
        done = (first || put(',')) && put(`${JSON.stringify(k)}:`) && walk(x)
        first = false
      }
      done &&= put('}')
    }
    path.delete(v)
    return done
  }
  try {
    if (walk(value)) return out
  } catch {
    return '(unreadable)'
  }
  return `${out.slice(0, max)}…`
}

/** Puts exactly `nodes` in `parent`, in order, touching nothing when they already are. */
function children(parent: Element, nodes: Node[]): void {
  const now = parent.childNodes
  if (now.length === nodes.length && nodes.every((n, i) => now[i] === n)) return
  parent.replaceChildren(...nodes)
}

export class JobTable {
  readonly body: HTMLTableSectionElement
  /** Row `i` shows the `i`th job; the first `#shown` of them are in the body. */
  readonly #rows: Row[] = []
  #shown = 0
  readonly #byId = new Map<string, Row>()

  constructor(body: HTMLTableSectionElement) {
    this.body = body
  }

  /** Shows `jobs` in this order; `busy` jobs have an action in flight; `selected` has its details open. */
  update(jobs: readonly JobRecord[], busy: ReadonlySet<string>, selected?: string): void {
    const focused = this.#focusedAction()
    this.#byId.clear()
    const added: HTMLTableRowElement[] = []
    jobs.forEach((j, i) => {
      const row = (this.#rows[i] ??= makeRow())
      const [isBusy, isSelected] = [busy.has(j.id), j.id === selected]
      const flags = `${isBusy} ${isSelected}`
      if (row.job !== j || row.flags !== flags) {
        const shown = shownOf(j, isBusy, isSelected)
        if (row.shown !== shown) this.#fill(row, j, isBusy, isSelected)
        Object.assign(row, { shown, job: j, flags })
      }
      this.#byId.set(j.id, row)
      if (i >= this.#shown) added.push(row.tr)
    })
    if (added.length > 0) this.body.append(...added)
    for (let i = this.#shown - 1; i >= jobs.length; i--) this.#rows[i]?.tr.remove()
    this.#shown = jobs.length
    if (focused) this.#refocus(focused)
  }

  /** The action button in focus, as the job and action it was for. */
  #focusedAction(): { id: string; action: string; button: HTMLButtonElement } | undefined {
    const root = this.body.getRootNode() as Document | ShadowRoot
    const b = root.activeElement
    if (!(b instanceof HTMLButtonElement) || !this.body.contains(b)) return undefined
    const { jobId, action } = b.dataset
    return jobId === undefined || action === undefined ? undefined : { id: jobId, action, button: b }
  }

  /**
   * Rows stay where they are and show other jobs: a focused button follows its job to its new
   * row, so that a key press acts on the job the reader chose, or lets go if the job left.
   */
  #refocus({ id, action, button }: { id: string; action: string; button: HTMLButtonElement }): void {
    const row = this.#byId.get(id)
    const target = row && (action === 'replay' ? row.replay : action === 'cancel' ? row.cancel : row.link)
    if (target === button && target.isConnected) return
    if (target?.isConnected) target.focus({ preventScroll: true })
    else button.blur()
  }

  /** The row of a job on the page. */
  row(id: string): HTMLTableRowElement | undefined {
    return this.#byId.get(id)?.tr
  }

  /** The button that opens the details of a job on the page. */
  link(id: string): HTMLButtonElement | undefined {
    return this.#byId.get(id)?.link
  }

  clear(): void {
    this.update([], new Set())
  }

  #fill(row: Row, j: JobRecord, busy: boolean, selected: boolean): void {
    const { tr, cells, boxes, texts, link } = row
    setAttr(tr, 'data-job-id', j.id)
    setAttr(tr, 'data-state', j.state)
    setAttr(tr, 'data-type', typeof j.type === 'string' ? j.type : undefined)
    setAttr(tr, 'data-selected', selected ? 'true' : undefined)
    setAttr(tr, 'aria-busy', busy ? 'true' : undefined)
    setData(texts.id, j.id)
    setAttr(cells.id, 'title', j.id)
    setAttr(link, 'data-job-id', j.id)
    setAttr(link, 'aria-expanded', String(selected))
    setAttr(link, 'aria-label', `Details of job ${j.id}`)
    const shown = textsOf(j)
    setData(texts.type, shown.type.text)
    setAttr(cells.type, 'title', shown.type.title)
    setData(texts.state, j.state)
    // A class, not an attribute the style sheet selects on: it is set only when it changes.
    const stateClass = `cell-box state-${j.state}`
    if (boxes.state.className !== stateClass) boxes.state.className = stateClass
    setData(texts.attempts, `${j.attempt} / ${j.maxAttempts}`)
    const version = versionOf(j)
    setData(texts.version, version.text)
    setAttr(cells.version, 'title', version.title)

    const p = progressOf(j)
    if (p.percent === undefined) {
      children(boxes.progress, p.text ? [row.barText] : [])
      setText(row.barText, p.text)
      setAttr(cells.progress, 'title', p.title)
    } else {
      children(boxes.progress, [row.bar, row.barText])
      if (row.bar.value !== p.percent) row.bar.value = p.percent
      setAttr(row.bar, 'aria-label', `Progress of job ${j.id}`)
      setText(row.barText, p.text)
      setAttr(cells.progress, 'title', undefined)
    }

    // Cut to a line by the style sheet; the rest of it (up to `TITLE_CHARS`) is in the title.
    setText(row.errorText, shown.error?.text ?? '')
    setAttr(cells.error, 'title', shown.error?.title)

    const actions: HTMLButtonElement[] = []
    if (REPLAYABLE.has(j.state)) actions.push(row.replay)
    if (CANCELLABLE.has(j.state)) actions.push(row.cancel)
    for (const b of actions) {
      setDisabled(b, busy)
      setAttr(b, 'data-job-id', j.id)
      setAttr(b, 'aria-label', `${b === row.replay ? 'Replay' : 'Cancel'} job ${j.id}`)
    }
    children(boxes.actions, actions)
  }
}
