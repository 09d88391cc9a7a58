/**
 * `FerryDashboard`, the `<ferry-dashboard>` element. It renders from one model (`model.ts`);
 * `Live` keeps the model current while the element is on the page, and `render` brings the
 * shadow DOM in line with it at most once a frame.
 *
 * Lifecycle: setting `queue` while connected starts watching it (after letting go of the one
 * before); removing the element from the page lets go of everything (events, timers, reads);
 * adding it back starts again from a fresh read.
 *
 * @module
 */
import type { JobState } from '../core/types.js'
import { Live } from './live.js'
import { PAGE_SIZE, STATES, emptyModel, messageOf, type DashboardQueue, type Model } from './model.js'
import { buildView, render, type View } from './view.js'

/** A half of a surrogate pair without its other half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

// Node and server-side rendering have no HTMLElement: the class must still be definable there,
// so that importing `ferry/dashboard` never throws.
const Base: typeof HTMLElement = typeof HTMLElement === 'undefined' ? (class {} as unknown as typeof HTMLElement) : HTMLElement

/** Waits for the frame, or a moment where there are no frames. */
function nextFrame(fn: () => void): () => void {
  if (typeof requestAnimationFrame === 'function') {
    const h = requestAnimationFrame(fn)
    return () => cancelAnimationFrame(h)
  }
  const h = setTimeout(fn, 16)
  return () => clearTimeout(h)
}

/**
 * A live view of a queue: counts, throughput, chains and batches, the jobs, and the actions
 * replay, cancel, pause and resume. See `ferry/dashboard` for its parts and custom properties.
 *
 * @example
 * const el = document.createElement('ferry-dashboard')
 * el.queue = queue // a Queue, or the QueueClient of a queue in a worker
 * document.body.append(el)
 */
export class FerryDashboard extends Base {
  #queue: DashboardQueue | undefined
  #model: Model = emptyModel()
  #view: View | undefined
  #live: Live | undefined
  #cancelFrame: (() => void) | undefined

  /** The queue shown: a `Queue`, a `QueueClient`, or anything with the same read side. */
  get queue(): DashboardQueue | undefined {
    return this.#queue
  }

  set queue(q: DashboardQueue | undefined) {
    if (q === this.#queue) return
    this.#stop()
    this.#queue = q
    const { filter, versionInvalid } = this.#model
    this.#model = emptyModel()
    this.#model.replayable = { chain: typeof q?.replayChain === 'function', batch: typeof q?.replayBatch === 'function' }
    // What the user chose to look at stays as it was.
    this.#model.filter = { ...filter, offset: 0 }
    if (versionInvalid !== undefined) this.#model.versionInvalid = versionInvalid
    this.#view?.table.clear()
    this.#view?.types.replaceChildren()
    this.#view?.versions.replaceChildren()
    if (this.isConnected) this.#start()
    this.#schedule()
  }

  connectedCallback(): void {
    // A `queue` set on the element before its class was defined is an own property that
    // hides the accessor: take it over.
    if (Object.prototype.hasOwnProperty.call(this, 'queue')) {
      const q = (this as { queue?: DashboardQueue }).queue
      delete (this as { queue?: DashboardQueue }).queue
      this.queue = q
    }
    if (!this.#view) this.#view = this.#build()
    this.#start()
    this.#schedule()
  }

  disconnectedCallback(): void {
    this.#stop()
  }

  #start(): void {
    const q = this.#queue
    if (!q || this.#live) return
    // Chains and batches are followed from events, and events sent while away were missed:
    // groups and the pause state are read afresh rather than trusted.
    this.#model.groups.clear()
    this.#live = new Live(q, this.#model, () => this.#schedule(), this)
  }

  #stop(): void {
    this.#live?.close()
    this.#live = undefined
    this.#cancelFrame?.()
    this.#cancelFrame = undefined
  }

  /** Renders at the next frame; changes until then share it. */
  #schedule(): void {
    if (this.#cancelFrame || !this.#view || !this.isConnected) return
    this.#cancelFrame = nextFrame(() => {
      this.#cancelFrame = undefined
      if (this.#view) render(this.#view, this.#model)
    })
  }

  #build(): View {
    const root = this.shadowRoot ?? this.attachShadow({ mode: 'open' })
    const view = buildView(root)
    root.addEventListener('click', (e) => this.#onClick(e))
    root.addEventListener('keydown', (e) => {
      if ((e as KeyboardEvent).key === 'Escape' && this.#model.detail && e.composedPath().includes(view.detail.root)) this.#closeDetail()
    })
    view.stateFilter.addEventListener('change', () => this.#setFilter({ state: (view.stateFilter.value || undefined) as JobState | undefined }))
    // A type is matched exactly, spaces and all: only a blank filter means any type.
    view.typeFilter.addEventListener('input', () => this.#setFilter({ type: view.typeFilter.value.trim() === '' ? undefined : view.typeFilter.value }))
    // A version is matched exactly too (a queue's version may have spaces); one that is not
    // well-formed text is one no queue has, and `listJobs` refuses it: said here, not read.
    view.versionFilter.addEventListener('input', () => {
      const typed = view.versionFilter.value
      const invalid = LONE_SURROGATE.test(typed) ? 'Not a version: it holds half of a surrogate pair.' : undefined
      if (invalid !== this.#model.versionInvalid) {
        this.#model.versionInvalid = invalid
        this.#schedule()
      }
      if (!invalid) this.#setFilter({ version: typed.trim() === '' ? undefined : typed })
    })
    return view
  }

  /** Opens the details of a job (from its row), or closes them when they are that job's. */
  #toggleDetail(id: string): void {
    const m = this.#model
    const view = this.#view
    if (!view) return
    if (m.detail?.id === id) {
      this.#closeDetail()
      return
    }
    m.detail = { id, job: m.jobs.find((j) => j.id === id) }
    // Drawn now, not at the next frame: the panel takes the focus, and must be shown for that.
    render(view, m)
    view.detail.root.focus()
    this.#live?.refresh()
  }

  /**
   * Closes the details, and reads at once what may have waited for them. The focus goes back to
   * the job's row when it is on the page, else to the first row, else to the filters.
   */
  #closeDetail(): void {
    const m = this.#model
    const view = this.#view
    const id = m.detail?.id
    if (!view || id === undefined) return
    const hadFocus = view.detail.root.contains(this.shadowRoot?.activeElement ?? null)
    m.detail = undefined
    render(view, m)
    this.#live?.refresh()
    if (hadFocus) (view.table.link(id) ?? view.table.link(m.jobs[0]?.id ?? '') ?? view.stateFilter).focus()
  }

  #setFilter(change: { state?: JobState | undefined; type?: string | undefined; version?: string | undefined; offset?: number }): void {
    const m = this.#model
    const next = { ...m.filter, offset: 0, ...change }
    m.filter = next
    m.filterGeneration++
    this.#live?.refresh()
    this.#schedule()
  }

  #onClick(e: Event): void {
    const button = (e.target as Element | null)?.closest?.('button[data-action]')
    if (!(button instanceof HTMLButtonElement) || button.disabled) return
    const m = this.#model
    const action = button.dataset['action']
    const id = button.dataset['jobId']
    // Two clicks within a frame both find the button enabled: the model knows better.
    if ((id !== undefined && action !== 'show-job' && m.busy.has(id)) || ((action === 'pause' || action === 'resume') && m.pausing)) return
    switch (action) {
      case 'filter-state': {
        const state = button.dataset['state'] as JobState | undefined
        if (state && STATES.includes(state)) this.#setFilter({ state: m.filter.state === state ? undefined : state })
        return
      }
      case 'show-job':
        if (id !== undefined) this.#toggleDetail(id)
        return
      case 'close-detail':
        this.#closeDetail()
        return
      case 'prev-page':
        this.#setFilter({ offset: Math.max(0, m.filter.offset - PAGE_SIZE) })
        return
      case 'next-page':
        this.#setFilter({ offset: m.filter.offset + PAGE_SIZE })
        return
      case 'dismiss':
        m.error = undefined
        m.readError = undefined
        this.#schedule()
        return
      case 'pause':
      case 'resume':
        void this.#pause(action === 'pause')
        return
      case 'replay':
      case 'cancel':
        if (id !== undefined) void this.#act(action, id)
        return
      case 'replay-chain':
      case 'replay-batch': {
        const groupId = button.dataset['groupId']
        const kind = action === 'replay-chain' ? 'chain' : 'batch'
        if (groupId !== undefined && !m.groupsBusy.has(`${kind} ${groupId}`)) void this.#replayGroup(kind, groupId)
      }
    }
  }

  async #pause(pause: boolean): Promise<void> {
    const q = this.#queue
    const m = this.#model
    if (!q) return
    m.pausing = true
    this.#schedule()
    try {
      if (pause) await q.pause()
      else {
        // Resume every name shown as paused: `resume()` alone resumes only the queues this
        // engine works, and a name paused elsewhere would keep the dashboard on "Paused".
        const names = [...m.paused].filter((n) => n !== '*')
        await Promise.all([q.resume(), ...names.map((n) => q.resume(n))])
      }
    } catch (err) {
      if (m === this.#model) m.error = `Could not ${pause ? 'pause' : 'resume'} the queue: ${messageOf(err)}`
    } finally {
      m.pausing = false
      this.#live?.refresh()
      this.#schedule()
    }
  }

  /** Replays a failed chain or batch; the events it emits bring the group's new state. */
  async #replayGroup(kind: 'chain' | 'batch', id: string): Promise<void> {
    const q = this.#queue
    const m = this.#model
    if (!q || !(kind === 'chain' ? m.replayable.chain : m.replayable.batch)) return
    const key = `${kind} ${id}`
    m.groupsBusy.add(key)
    this.#schedule()
    try {
      await (kind === 'chain' ? q.replayChain?.(id) : q.replayBatch?.(id))
    } catch (err) {
      if (m === this.#model) m.error = `Could not replay ${kind} ${id}: ${messageOf(err)}`
    } finally {
      m.groupsBusy.delete(key)
      this.#live?.refresh()
      this.#schedule()
    }
  }

  async #act(action: 'replay' | 'cancel', id: string): Promise<void> {
    const q = this.#queue
    const m = this.#model
    if (!q) return
    m.busy.add(id)
    this.#schedule()
    try {
      const done = await (action === 'replay' ? q.replay(id) : q.cancel(id))
      if (!done && m === this.#model) {
        m.error = action === 'replay' ? `Job ${id} was not replayed: it is no longer failed or cancelled.` : `Job ${id} was not cancelled: it has finished.`
      }
    } catch (err) {
      if (m === this.#model) m.error = `Could not ${action} job ${id}: ${messageOf(err)}`
    } finally {
      m.busy.delete(id)
      this.#live?.refresh()
      this.#schedule()
    }
  }
}
