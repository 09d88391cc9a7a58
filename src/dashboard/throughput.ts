/**
 * Throughput over the last minute: jobs finished per second, counted from events as they
 * arrive, and the small chart that draws it (inline SVG, built once, its paths updated).
 *
 * @module
 */
import { setAttr, setText, svg } from './dom.js'

/** Seconds the chart spans. */
export const SPAN_S = 60

/** Per-second counts of finished jobs over the last `SPAN_S` seconds, in a ring. */
export class Throughput {
  readonly #done = new Array<number>(SPAN_S).fill(0)
  readonly #failed = new Array<number>(SPAN_S).fill(0)
  /** The second (since the epoch) that the newest slot holds. */
  #second = 0

  /** Counts one finished job at `now` (ms). */
  record(failed: boolean, now = Date.now()): void {
    this.#advance(now)
    const i = this.#second % SPAN_S
    this.#done[i] = (this.#done[i] ?? 0) + 1
    if (failed) this.#failed[i] = (this.#failed[i] ?? 0) + 1
  }

  /** Finished and failed jobs per second, oldest first, the last slot being the current second. */
  series(now = Date.now()): { done: number[]; failed: number[] } {
    this.#advance(now)
    const done: number[] = []
    const failed: number[] = []
    for (let k = SPAN_S - 1; k >= 0; k--) {
      const i = (this.#second - k) % SPAN_S
      done.push(this.#done[i] ?? 0)
      failed.push(this.#failed[i] ?? 0)
    }
    return { done, failed }
  }

  /** Moves the ring to the second of `now`, emptying the slots of the seconds skipped. */
  #advance(now: number): void {
    const second = Math.floor(now / 1000)
    if (second <= this.#second) return
    const skipped = Math.min(second - this.#second, SPAN_S)
    for (let k = 1; k <= skipped; k++) {
      const i = (second - skipped + k) % SPAN_S
      this.#done[i] = 0
      this.#failed[i] = 0
    }
    this.#second = second
  }
}

const W = 240
const H = 48

/** The chart's elements: an area for finished jobs, a line for failed ones, and its labels. */
export interface Chart {
  readonly root: SVGSVGElement
  readonly rate: HTMLElement
  readonly peak: HTMLElement
}

export function makeChart(rate: HTMLElement, peak: HTMLElement): Chart {
  const root = svg('svg', {
    part: 'chart',
    viewBox: `0 0 ${W} ${H}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': 'Jobs finished per second over the last minute',
  })
  root.append(
    svg('path', { class: 'chart-done', 'data-series': 'finished', d: '' }),
    svg('path', { class: 'chart-failed', 'data-series': 'failed', d: '' }),
  )
  return { root, rate, peak }
}

/** A path through the points, scaled so `max` touches the top; closed to the bottom for an area. */
function path(values: number[], max: number, area: boolean): string {
  const step = W / (values.length - 1)
  const y = (v: number): string => (H - 1 - (v / max) * (H - 4)).toFixed(1)
  let d = values.map((v, i) => `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)} ${y(v)}`).join('')
  if (area) d += `L${W} ${H}L0 ${H}Z`
  return d
}

export function drawChart(chart: Chart, t: Throughput, now = Date.now()): void {
  const { done, failed } = t.series(now)
  const max = Math.max(1, ...done)
  const [area, line] = chart.root.children
  if (area) setAttr(area, 'd', path(done, max, true))
  if (line) setAttr(line, 'd', path(failed, max, false))
  // The current second is still filling: the rate is that of the five whole seconds before it.
  const recent = done.slice(-6, -1).reduce((a, b) => a + b, 0) / 5
  setText(chart.rate, `${recent.toFixed(recent < 10 ? 1 : 0)} jobs/s`)
  setText(chart.peak, `peak ${Math.max(...done)}/s · last 60 s`)
  const total = done.reduce((a, b) => a + b, 0)
  const lost = failed.reduce((a, b) => a + b, 0)
  setAttr(chart.root, 'aria-label', `Jobs finished per second over the last minute: ${total} finished, ${lost} failed`)
}
