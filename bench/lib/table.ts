/**
 * Markdown tables of result rows, one per scenario, with ferry's advantage over each row's
 * comparison (a peer, the raw ceiling, or another ferry setup): above 1 in every table means
 * ferry is better, whether the scenario's measure is jobs/s or a latency.
 *
 * @module
 */
import { int, ms, ratio } from './format.js'
import { SCENARIOS, type Row, type ScenarioId } from './result.js'
import { perSecond } from './stats.js'

/** Scenarios whose main number is a latency: their ratio compares p50 (lower is better). */
const LATENCY: ReadonlySet<ScenarioId> = new Set(['latency', 'latency-return', 'latency-return-2p', 'commit', 'list-100k', 'worker-dispatch', 'worker-eld'])

export function jobsPerSecond(r: Row): number | undefined {
  return r.jobs !== undefined && r.ms !== undefined ? perSecond(r.jobs, r.ms) : undefined
}

/**
 * How many times better `a` is than `b` in the scenario's main measure: jobs/s a ÷ b, or for
 * a latency p50 b ÷ a. Above 1 always means `a` is better; undefined without both numbers.
 */
function advantage(id: ScenarioId, a: Row, b: Row): number | undefined {
  if (LATENCY.has(id)) return a.p50 && b.p50 !== undefined ? b.p50 / a.p50 : undefined
  const x = jobsPerSecond(a)
  const y = jobsPerSecond(b)
  return x !== undefined && y ? x / y : undefined
}

/**
 * The ratio column. A peer's or ceiling's row shows ferry's advantage over it; a ferry row
 * shows its own advantage over the ferry setup it names. Above 1: the ferry row is better.
 */
function shownRatio(r: Row, rows: readonly Row[]): number | undefined {
  if (r.compareTo === undefined || r.unavailable !== undefined) return undefined
  const f = rows.find((x) => x.scenario === r.scenario && x.subject === r.compareTo && x.unavailable === undefined)
  if (!f) return undefined
  return r.kind === 'ferry' ? advantage(r.scenario, r, f) : advantage(r.scenario, f, r)
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

export function scenarioTable(id: ScenarioId, rows: readonly Row[]): string {
  const mine = rows.filter((r) => r.scenario === id)
  if (mine.length === 0) return ''
  const lat = LATENCY.has(id)
  const how = lat
    ? 'lower p50 is better; ratio = this row\'s p50 ÷ the ferry p50 it is compared with'
    : 'higher jobs/s is better; ratio = the ferry jobs/s it is compared with ÷ this row\'s'
  const out = [
    `### ${SCENARIOS[id]}`,
    '',
    `_${how}. **Above 1: ferry is better.** On a ferry row the ratio compares it with the ferry setup it names (above 1: this row is better)._`,
    '',
    '| subject | jobs | jobs/s | p50 ms | p99 ms | memory MB | ratio (above 1: ferry better) | vs | note |',
    '|---|--:|--:|--:|--:|--:|--:|---|---|',
  ]
  for (const r of mine) {
    if (r.unavailable !== undefined) {
      out.push(`| ${cell(r.subject)} | – | unavailable | – | – | – | – | | ${cell(r.unavailable)} |`)
      continue
    }
    const jps = jobsPerSecond(r)
    const cols = [
      r.subject,
      r.jobs === undefined ? '–' : int(r.jobs),
      jps === undefined ? '–' : int(jps),
      ms(r.p50),
      ms(r.p99),
      r.rssMB === undefined ? '–' : int(r.rssMB),
      ratio(shownRatio(r, rows)),
      r.compareTo ?? '',
      r.note ?? '',
    ]
    out.push(`| ${cols.map(cell).join(' | ')} |`)
  }
  return out.join('\n')
}

export function allTables(rows: readonly Row[]): string {
  return (Object.keys(SCENARIOS) as ScenarioId[])
    .map((id) => scenarioTable(id, rows))
    .filter((t) => t !== '')
    .join('\n\n')
}
