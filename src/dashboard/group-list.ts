/**
 * The lists of chains and batches with their progress bars, updated in place like the job
 * table: one item per group id, its text and bar rewritten only when they changed. A failed
 * group has a Replay button when the queue can replay it.
 *
 * @module
 */
import type { BatchState, ChainState } from '../core/types.js'
import { h, setAttr, setDisabled, setText } from './dom.js'
import { batchProgress, chainProgress, type GroupKind } from './groups.js'

interface Item {
  li: HTMLLIElement
  name: HTMLSpanElement
  state: HTMLSpanElement
  bar: HTMLProgressElement
  text: HTMLSpanElement
  /** In the item only while the group can be replayed. */
  replay: HTMLButtonElement
}

function makeItem(kind: GroupKind): Item {
  const name = h('span', { part: 'group-name' })
  const state = h('span', { part: 'group-state' })
  const bar = h('progress', { part: 'group-progress', class: 'group-bar' })
  const text = h('span', { part: 'group-text' })
  const replay = h('button', { type: 'button', part: 'action group-replay-button', 'data-action': `replay-${kind}` }, 'Replay')
  const li = h('li', { part: `group ${kind}` }, name, state, bar, text)
  return { li, name, state, bar, text, replay }
}

/** What an item shows of a group. */
interface Shown {
  id: string
  name: string
  state: string
  value: number
  max: number
  text: string
  /** The name uncut, when it is cut. */
  fullName?: string
  /** The text uncut, when it is cut. */
  title?: string
}

/** Longest step type or batch name shown; the whole of it is in the title. */
const NAME_CHARS = 80

const cut = (s: string): string => (s.length > NAME_CHARS ? `${s.slice(0, NAME_CHARS)}…` : s)

function shownChain(c: ChainState): Shown {
  const { value, max } = chainProgress(c)
  const step = c.steps[c.current]
  const type = String(step?.type)
  const at = c.finishedAt === undefined && step ? ` · step ${c.current + 1}: ${cut(type)}` : ''
  const title = at && type.length > NAME_CHARS ? `step ${c.current + 1}: ${type}` : undefined
  return { id: c.id, name: `Chain ${c.id}`, state: c.state, value, max, text: `${value} / ${max} steps${at}`, ...(title && { title }) }
}

function shownBatch(b: BatchState): Shown {
  const { value, max } = batchProgress(b)
  const failed = b.failed > 0 ? `, ${b.failed} failed` : ''
  return { id: b.id, name: b.name ? `Batch ${cut(String(b.name))}` : `Batch ${b.id}`, ...(b.name && String(b.name).length > NAME_CHARS && { fullName: `Batch ${b.name}` }), state: b.state, value, max, text: `${value} / ${max} done${failed}` }
}

export class GroupList {
  readonly root: HTMLUListElement
  readonly #kind: GroupKind
  readonly #items = new Map<string, Item>()

  constructor(kind: GroupKind) {
    this.#kind = kind
    this.root = h('ul', { part: kind === 'chain' ? 'chains' : 'batches', 'aria-label': kind === 'chain' ? 'Chains' : 'Batches' })
  }

  /**
   * Shows `groups` in this order. `replayable`: the queue can replay this kind of group;
   * `busy`: the groups (`<kind> <id>`) with a replay in flight, whose buttons are disabled.
   */
  update(groups: readonly ChainState[] | readonly BatchState[], replayable = false, busy: ReadonlySet<string> = new Set()): void {
    const shown = this.#kind === 'chain' ? (groups as ChainState[]).map(shownChain) : (groups as BatchState[]).map(shownBatch)
    const keep = new Set(shown.map((s) => s.id))
    for (const [id, item] of this.#items) {
      if (keep.has(id)) continue
      item.li.remove()
      this.#items.delete(id)
    }
    let at: ChildNode | null = this.root.firstChild
    for (const s of shown) {
      let item = this.#items.get(s.id)
      if (!item) {
        item = makeItem(this.#kind)
        this.#items.set(s.id, item)
      }
      this.#fill(item, s, replayable && s.state === 'failed', busy.has(`${this.#kind} ${s.id}`))
      if (item.li === at) at = at.nextSibling
      else this.root.insertBefore(item.li, at)
    }
  }

  #fill(item: Item, s: Shown, replayable: boolean, busy: boolean): void {
    setAttr(item.li, `data-${this.#kind}-id`, s.id)
    setAttr(item.li, 'data-state', s.state)
    setText(item.name, s.name)
    setAttr(item.name, 'title', s.fullName ?? s.id)
    setText(item.state, s.state)
    setAttr(item.state, 'data-state', s.state)
    if (item.bar.max !== Math.max(1, s.max)) item.bar.max = Math.max(1, s.max)
    if (item.bar.value !== s.value) item.bar.value = s.value
    setAttr(item.bar, 'aria-label', `Progress of ${s.name}`)
    setText(item.text, s.text)
    setAttr(item.text, 'title', s.title)
    if (!replayable) {
      if (item.replay.isConnected) item.replay.remove()
      return
    }
    setAttr(item.replay, 'data-group-id', s.id)
    setAttr(item.replay, 'aria-label', `Replay ${this.#kind} ${s.id}`)
    setDisabled(item.replay, busy)
    if (item.replay.parentNode !== item.li) item.li.append(item.replay)
  }
}
