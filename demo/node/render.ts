/**
 * Terminal output with plain ANSI escape codes: a status block redrawn in place on a TTY, one
 * plain line per report elsewhere (pipes, CI logs), and the final summary table.
 */
import type { Counts } from '../../src/index.js'
import type { Notable, TypeTally } from './tally.js'

export interface Snapshot {
  counts: Counts
  elapsedMs: number
  /** Jobs finished per second, recently. */
  rate: number
  inFlight: ReadonlyMap<string, number>
  recent: readonly Notable[]
  /** When the run started, in the events' clock: log lines show times relative to it. */
  startedAt: number
  /** Extra lines about the chain and the batch. */
  notes: string[]
}

export interface Paint {
  bold(s: string): string
  dim(s: string): string
  green(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

export function paint(enabled: boolean): Paint {
  const sgr = (on: number, off: number) => (s: string) => (enabled ? `\x1b[${on}m${s}\x1b[${off}m` : s)
  return { bold: sgr(1, 22), dim: sgr(2, 22), green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) }
}

const BAR_WIDTH = 32
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]/

export function statusBlock(s: Snapshot, p: Paint): string[] {
  const c = s.counts
  const total = sum(c)
  const done = c.succeeded + c.failed + c.cancelled
  const pct = total === 0 ? 0 : Math.floor((done / total) * 100)
  const inFlight = [...s.inFlight].map(([id, pct]) => `${id} ${pct}%`).join('  ')
  return [
    `${p.bold('ferry')} ${p.dim('· photo outbox · SQLite file store')}   ${seconds(s.elapsedMs)}`,
    '',
    `${bar(c, total, p)} ${String(pct).padStart(3)}%  ${done}/${total}  ${p.bold(s.rate.toFixed(0))} jobs/s`,
    '',
    `  waiting ${pad(c.waiting)}   delayed ${pad(c.delayed)}   blocked ${pad(c.blocked)}   active ${pad(c.active)}`,
    `  ${p.green('succeeded')} ${pad(c.succeeded)}   ${p.red('failed')} ${pad(c.failed)}   cancelled ${pad(c.cancelled)}`,
    '',
    `  ${p.dim('running')}  ${inFlight === '' ? p.dim('-') : inFlight}`,
    ...s.notes.map((n) => `  ${n}`),
    '',
    p.dim('  recent'),
    ...s.recent.map((e) => `  ${eventLine(e, s.startedAt, p)}`),
  ]
}

export function statusLine(s: Snapshot): string {
  const c = s.counts
  const total = sum(c)
  const done = c.succeeded + c.failed + c.cancelled
  return (
    `[${seconds(s.elapsedMs).padStart(6)}] ${done}/${total} done · waiting ${c.waiting} · delayed ${c.delayed} · ` +
    `blocked ${c.blocked} · active ${c.active} · succeeded ${c.succeeded} · failed ${c.failed} · ${s.rate.toFixed(0)} jobs/s`
  )
}

export function summaryTable(byType: ReadonlyMap<string, TypeTally>, p: Paint): string[] {
  const rows = [...byType].sort(([, a], [, b]) => finished(b) - finished(a))
  const all: TypeTally = { succeeded: 0, failed: 0, retried: 0, durations: [] }
  for (const [, t] of rows) {
    all.succeeded += t.succeeded
    all.failed += t.failed
    all.retried += t.retried
    all.durations.push(...t.durations)
  }
  const head = ['job type', 'succeeded', 'failed', 'retried', 'mean ms', 'p95 ms']
  const cells = (name: string, t: TypeTally) => [
    name,
    String(t.succeeded),
    String(t.failed),
    String(t.retried),
    mean(t.durations).toFixed(1),
    p95(t.durations).toFixed(0),
  ]
  const body = [...rows.map(([type, t]) => cells(type, t)), cells('total', all)]
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)))
  const fmt = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number)))
  const line = (r: string[]) => fmt(r).join('  ')
  const withFailures = (r: string[]) => fmt(r).map((v, i) => (i === 2 && r[2] !== '0' ? p.red(v) : v)).join('  ')
  const rule = p.dim(widths.map((w) => '─'.repeat(w)).join('  '))
  return [
    p.bold(line(head)),
    rule,
    ...body.slice(0, -1).map(withFailures),
    rule,
    p.bold(line(body.at(-1) as string[])),
  ]
}

/**
 * Redraws a block of lines in place: the cursor goes back up over the previous frame, and each
 * line is cut to the terminal's width, because a wrapped line would break that count.
 */
export class LiveRegion {
  readonly #out: NodeJS.WriteStream
  #height = 0

  constructor(out: NodeJS.WriteStream) {
    this.#out = out
    out.write('\x1b[?25l')
  }

  draw(lines: string[]): void {
    const width = Math.max(20, (this.#out.columns ?? 80) - 1)
    let frame = this.#height > 0 ? `\x1b[${this.#height}F` : ''
    for (const l of lines) frame += `\x1b[2K${fit(l, width)}\n`
    this.#out.write(`${frame}\x1b[J`)
    this.#height = lines.length
  }

  close(): void {
    this.#out.write('\x1b[?25h')
  }
}

function eventLine(e: Notable, startedAt: number, p: Paint): string {
  const at = p.dim(`+${seconds(e.at - startedAt).padStart(6)}`)
  switch (e.kind) {
    case 'job:retrying':
      return `${at} ${p.yellow('retry ')} ${e.jobId} · attempt ${e.attempt}: ${e.error.message} · again in ${e.retryAt - e.at} ms`
    case 'job:failed':
      return `${at} ${p.red('failed')} ${e.jobId} · attempt ${e.attempt}: ${e.error.name}: ${e.error.message}`
    case 'job:stalled':
      return `${at} ${p.yellow('stall ')} ${e.jobId}: lease expired, claimed again`
    case 'lease:lost':
      return `${at} ${p.red('lease ')} ${e.jobId}: lease lost, result discarded`
    case 'queue:error':
      return `${at} ${p.red('error ')} ${e.error.name}: ${e.error.message}`
    case 'chain:completed':
    case 'chain:failed':
    case 'chain:cancelled':
      return `${at} ${p.cyan('chain ')} ${e.kind.slice('chain:'.length)} at ${e.jobId ?? '?'}`
    case 'batch:completed':
    case 'batch:failed':
    case 'batch:cancelled': {
      const b = e.state
      return `${at} ${p.cyan('batch ')} ${b.name ?? b.id} ${e.kind.slice('batch:'.length)} · ${b.succeeded} succeeded, ${b.failed} failed, ${b.cancelled} cancelled of ${b.total}`
    }
  }
}

function bar(c: Counts, total: number, p: Paint): string {
  if (total === 0) return p.dim('░'.repeat(BAR_WIDTH))
  const cells = (n: number) => Math.round((n / total) * BAR_WIDTH)
  const failed = c.failed + c.cancelled > 0 ? Math.max(1, cells(c.failed + c.cancelled)) : 0
  const ok = Math.min(BAR_WIDTH - failed, cells(c.succeeded))
  return p.green('█'.repeat(ok)) + p.red('█'.repeat(failed)) + p.dim('░'.repeat(BAR_WIDTH - ok - failed))
}

/** Cuts a line to `width` visible characters, leaving escape sequences whole. */
function fit(line: string, width: number): string {
  if (visible(line) <= width) return line
  const esc = new RegExp(ESCAPE.source, 'y')
  let out = ''
  let shown = 0
  for (let i = 0; i < line.length && shown < width - 1; ) {
    esc.lastIndex = i
    const m = esc.exec(line)
    if (m) {
      out += m[0]
      i += m[0].length
      continue
    }
    const ch = String.fromCodePoint(line.codePointAt(i) as number)
    out += ch
    i += ch.length
    shown++
  }
  return `${out}…\x1b[0m`
}

function visible(line: string): number {
  return [...line.replace(new RegExp(ESCAPE.source, 'g'), '')].length
}

function finished(t: TypeTally): number {
  return t.succeeded + t.failed
}

function sum(c: Counts): number {
  return c.blocked + c.waiting + c.delayed + c.active + c.succeeded + c.failed + c.cancelled
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length
}

/** Nearest-rank 95th percentile. */
function p95(xs: number[]): number {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.ceil(0.95 * sorted.length) - 1] as number
}

function pad(n: number): string {
  return String(n).padStart(4)
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}
