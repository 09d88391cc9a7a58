/**
 * The details of one job, opened from its row: what the table has no room for, among it the
 * job's metadata (`job(...).meta()`, a trace's `traceparent`) and the versions of the queue
 * that dispatched it and of the engine that ran its last attempt. Built once; `update`
 * rewrites it only when what it shows changed.
 *
 * Metadata is user data, and a record may come from a worker or another tab: every key and
 * value goes in as text, and what is not what its type says is shown, not trusted.
 *
 * @module
 */
import type { JobRecord } from '../core/types.js'
import type { Model } from './model.js'
import { h, setAttr, setText } from './dom.js'
import { errorOf, preview } from './job-table.js'

export type Detail = NonNullable<Model['detail']>

const FIELDS = [
  ['type', 'Type'],
  ['queue', 'Queue'],
  ['state', 'State'],
  ['attempts', 'Attempts'],
  ['createdAt', 'Dispatched at'],
  ['runAt', 'Run at'],
  ['dispatchedBy', 'Dispatched by'],
  ['processedBy', 'Processed by'],
  ['error', 'Last error'],
] as const

type Field = (typeof FIELDS)[number][0]

/** Longest value (or key) shown; the whole of it is in the title. */
export const VALUE_CHARS = 300

/** Longest title: a value larger than any metadata may be is not put in the DOM whole. */
const TITLE_CHARS = 10_000

/** Metadata entries shown at most (a job may have 32; a damaged record, any number). */
const ENTRIES_SHOWN = 64

/** A value as text: strings as they are, anything else as JSON. */
function textOf(v: unknown, max: number): string {
  if (typeof v === 'string') return v.length > max ? v.slice(0, max) : v
  return preview(v, max)
}

/** What a cell shows of `v`, and its title when that is cut. */
function shown(v: unknown): { text: string; title?: string } {
  const full = textOf(v, TITLE_CHARS)
  return full.length > VALUE_CHARS ? { text: `${full.slice(0, VALUE_CHARS)}…`, title: full } : { text: full }
}

const dates = (): Intl.DateTimeFormat => (formatter ??= new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }))
let formatter: Intl.DateTimeFormat | undefined

function timeOf(ms: unknown): string | undefined {
  if (ms === undefined) return undefined
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? dates().format(ms) : textOf(ms, VALUE_CHARS)
}

function valueOf(j: JobRecord, f: Field): string | undefined {
  switch (f) {
    case 'attempts':
      return `${textOf(j.attempt, 20)} / ${textOf(j.maxAttempts, 20)}`
    case 'createdAt':
    case 'runAt':
      return timeOf(j[f])
    case 'error':
      return errorOf(j.error, TITLE_CHARS)?.title
    default:
      return j[f] === undefined ? undefined : textOf(j[f], TITLE_CHARS)
  }
}

/** The entries read of each metadata object seen: a record is never changed, so it is read once. */
const metaEntries = new WeakMap<object, [string, string][]>()

/**
 * The metadata's entries as text, or none when it is not a plain object: at most one past the
 * shown ones, enough to tell that there are more, whatever the number of keys.
 */
function entriesOf(meta: unknown): [string, string][] {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return []
  let out = metaEntries.get(meta)
  if (out) return out
  out = []
  for (const k in meta) {
    if (!Object.hasOwn(meta, k)) continue
    out.push([textOf(k, TITLE_CHARS), textOf((meta as Record<string, unknown>)[k], TITLE_CHARS)])
    if (out.length > ENTRIES_SHOWN) break
  }
  metaEntries.set(meta, out)
  return out
}

interface FieldView {
  box: HTMLDivElement
  dd: HTMLElement
}

export class JobDetail {
  readonly root: HTMLElement
  readonly #title: HTMLElement
  readonly #close: HTMLButtonElement
  readonly #gone: HTMLElement
  readonly #fields = new Map<Field, FieldView>()
  readonly #meta: HTMLDListElement
  readonly #metaEmpty: HTMLElement
  readonly #error: HTMLElement
  /** What the panel shows, in one string: a read that changed nothing writes nothing. */
  #shown = ''
  /** The detail last shown: drawn again (each frame the element draws), it costs nothing. */
  #last: Detail | undefined

  constructor() {
    this.#title = h('h3', { part: 'detail-title' })
    this.#close = h('button', { type: 'button', part: 'detail-close', 'data-action': 'close-detail', 'aria-label': 'Close the job details' }, '×')
    this.#gone = h('p', { part: 'detail-gone', hidden: true }, 'This job is no longer in the store.')
    this.#error = h('p', { part: 'detail-error', role: 'status', hidden: true })
    const fields = h('dl', { part: 'detail-fields' })
    for (const [name, label] of FIELDS) {
      const dd = h('dd', {})
      const box = h('div', { 'data-field': name, hidden: true }, h('dt', {}, label), dd)
      this.#fields.set(name, { box, dd })
      fields.append(box)
    }
    this.#meta = h('dl', { part: 'meta' })
    this.#metaEmpty = h('p', { part: 'meta-empty' }, 'No metadata.')
    this.root = h(
      'section',
      { part: 'job-detail', tabindex: -1, hidden: true },
      h('div', { class: 'detail-head' }, this.#title, this.#close),
      this.#gone,
      this.#error,
      fields,
      h('h4', { part: 'meta-title' }, 'Metadata'),
      this.#meta,
      this.#metaEmpty,
    )
  }

  /** Shows `detail`, or nothing when it is undefined. */
  update(detail: Detail | undefined): void {
    setAttr(this.root, 'hidden', detail === undefined)
    if (detail === this.#last) return
    this.#last = detail
    if (detail === undefined) return
    const j = detail.job ?? undefined
    const values = new Map(FIELDS.map(([f]) => [f, j && valueOf(j, f)]))
    const entries = entriesOf(j?.meta)
    const key = JSON.stringify([detail.id, detail.job === null, detail.error, [...values], entries])
    if (key === this.#shown) return
    this.#shown = key

    const id = shown(detail.id)
    setAttr(this.root, 'data-job-id', detail.id)
    setAttr(this.root, 'aria-label', `Job ${id.text}`)
    setText(this.#title, `Job ${id.text}`)
    setAttr(this.#title, 'title', id.title)
    setAttr(this.#gone, 'hidden', detail.job !== null)
    setText(this.#error, detail.error ?? '')
    setAttr(this.#error, 'hidden', detail.error === undefined)
    for (const [f, { box, dd }] of this.#fields) {
      const v = values.get(f)
      setAttr(box, 'hidden', v === undefined)
      const s = shown(v ?? '')
      setText(dd, s.text)
      setAttr(dd, 'title', s.title)
    }
    setAttr(this.root, 'data-state', j && typeof j.state === 'string' ? j.state : undefined)

    const rows = entries.slice(0, ENTRIES_SHOWN).map(([k, v]) => {
      const key = shown(k)
      const value = shown(v)
      return h('div', { part: 'meta-entry' }, h('dt', { title: key.title }, key.text), h('dd', { title: value.title }, value.text))
    })
    if (entries.length > ENTRIES_SHOWN) rows.push(h('div', { part: 'meta-more' }, h('dt', {}, '…'), h('dd', {}, `only the first ${ENTRIES_SHOWN} entries are shown`)))
    this.#meta.replaceChildren(...rows)
    setAttr(this.#meta, 'hidden', rows.length === 0)
    setAttr(this.#metaEmpty, 'hidden', rows.length > 0 || !j)
  }
}
