/**
 * Markdown tables of result rows, one per scenario, with the ratio of ferry to each row's
 * comparison (a peer, the raw ceiling, or another ferry setup).
 *
 * @module
 */
import { int, ms, ratio } from './format.js'
import { SCENARIOS, type Row, type ScenarioId } from './result.js'
import { perSecond } from './stats.js'

/** Scenarios whose main number is a latency: their ratio compares p50 (lower is better). */
const LATENCY: ReadonlySet<ScenarioId> = new Set(['latency', 'worker-dispatch', 'worker-eld'])

export function jobsPerSecond(r: Row): number | undefined {
  return r.jobs !== undefined && r.ms !== undefined ? perSecond(r.jobs, r.ms) : undefined
}

/** ferry's number over this row's, in the scenario's main measure; undefined without a pair. */
export function ferryRatio(r: Row, rows: readonly Row[]): number | undefined {
  if (r.compareTo === undefined || r.unavailable !== undefined) return undefined
  const f = rows.find((x) => x.scenario === r.scenario && x.subject === r.compareTo && x.unavailable === undefined)
  if (!f) return undefined
  if (LATENCY.has(r.scenario)) return f.p50 !== undefined && r.p50 ? f.p50 / r.p50 : undefined
  const a = jobsPerSecond(f)
  const b = jobsPerSecond(r)
  return a !== undefined && b ? a / b : undefined
}

/** A peer's or ceiling's row shows ferry ÷ it; a ferry row shows itself ÷ the setup it names. */
function shownRatio(r: Row, rows: readonly Row[]): number | undefined {
  const x = ferryRatio(r, rows)
  return x !== undefined && r.kind === 'ferry' ? 1 / x : x
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ')
}

export function scenarioTable(id: ScenarioId, rows: readonly Row[]): string {
  const mine = rows.filter((r) => r.scenario === id)
  if (mine.length === 0) return ''
  const lat = LATENCY.has(id)
  const how = lat ? 'ratio = ferry p50 ÷ this p50 (below 1: ferry is faster)' : 'ratio = ferry jobs/s ÷ this jobs/s (above 1: ferry is faster)'
  const out = [
    `### ${SCENARIOS[id]}`,
    '',
    `_${how}; a ferry row's ratio is itself ÷ the ferry setup it names._`,
    '',
    '| subject | jobs | jobs/s | p50 ms | p99 ms | memory MB | ratio | vs | note |',
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
