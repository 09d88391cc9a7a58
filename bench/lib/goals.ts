/**
 * ferry's speed goals, checked against a run's rows and printed as a table. They are a report,
 * not assertions: a missed goal is a finding.
 *
 * @module
 */
import { ms, ratio } from './format.js'
import type { Row, ScenarioId } from './result.js'
import { jobsPerSecond } from './table.js'

export type Goal =
  | { label: string; kind: 'ratio'; scenario: ScenarioId; a: string; aScenario?: ScenarioId; b: string; min: number }
  | { label: string; kind: 'p50'; scenario: ScenarioId; a: string; max: number }
  | { label: string; kind: 'rate'; scenario: ScenarioId; a: string; min: number }
  /** a's p50 in `aScenario` ÷ b's p50 in `scenario`: lower is better. */
  | { label: string; kind: 'p50-ratio'; scenario: ScenarioId; a: string; aScenario: ScenarioId; b: string; max: number }

function find(rows: readonly Row[], scenario: ScenarioId, subject: string): Row | undefined {
  return rows.find((r) => r.scenario === scenario && r.subject === subject && r.unavailable === undefined)
}

/**
 * The goals as a table. `distance` adds how far each measurement is from its target: the
 * measurement over the target for a minimum, the target over it for a maximum, so that below
 * 1× is short of the goal by that factor either way.
 */
export function goalsTable(goals: readonly Goal[], rows: readonly Row[], o: { distance?: boolean } = {}): string {
  const out = o.distance
    ? ['| goal | measured | target | met | measured ÷ target (≥ 1× meets it; for a time, target ÷ measured) |', '|---|--:|--:|:-:|--:|']
    : ['| goal | measured | target | met |', '|---|--:|--:|:-:|']
  for (const g of goals) {
    let measured: string
    let target: string
    let met: boolean | undefined
    let distance: number | undefined
    if (g.kind === 'ratio') {
      const a = find(rows, g.aScenario ?? g.scenario, g.a)
      const b = find(rows, g.scenario, g.b)
      const x = a && b ? (jobsPerSecond(a) ?? 0) / (jobsPerSecond(b) ?? 1) : undefined
      measured = x === undefined ? 'not measured' : ratio(x)
      target = `≥ ${g.min}×`
      met = x === undefined ? undefined : x >= g.min
      distance = x === undefined ? undefined : x / g.min
    } else if (g.kind === 'p50-ratio') {
      const a = find(rows, g.aScenario, g.a)?.p50
      const b = find(rows, g.scenario, g.b)?.p50
      const x = a !== undefined && b ? a / b : undefined
      measured = x === undefined ? 'not measured' : ratio(x)
      target = `≤ ${g.max}×`
      met = x === undefined ? undefined : x <= g.max
      distance = x === undefined || x === 0 ? undefined : g.max / x
    } else if (g.kind === 'p50') {
      const p = find(rows, g.scenario, g.a)?.p50
      measured = p === undefined ? 'not measured' : `${ms(p)} ms`
      target = `≤ ${g.max} ms`
      met = p === undefined ? undefined : p <= g.max
      distance = p === undefined || p === 0 ? undefined : g.max / p
    } else {
      const r = find(rows, g.scenario, g.a)
      const x = r && jobsPerSecond(r)
      measured = x === undefined ? 'not measured' : `${Math.round(x).toLocaleString('en-US')} jobs/s`
      target = `≥ ${g.min.toLocaleString('en-US')} jobs/s`
      met = x === undefined ? undefined : x >= g.min
      distance = x === undefined ? undefined : x / g.min
    }
    const cells = [g.label, measured, target, met === undefined ? '–' : met ? 'yes' : '**no**', ...(o.distance ? [ratio(distance)] : [])]
    out.push(`| ${cells.join(' | ')} |`)
  }
  return out.join('\n')
}
