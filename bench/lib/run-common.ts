/**
 * Scenarios 1 to 3 on one system, as result rows: what most subjects run.
 *
 * @module
 */
import type { AdapterFactory } from './adapter.js'
import type { Row } from './result.js'
import { commitLatency, dispatchMany, dispatchOne, latency, processPreloaded, type CommonSizes, type Measured } from './scenarios.js'

/** How a subject's rows are labelled. */
export type Base = Pick<Row, 'subject' | 'kind' | 'compareTo'>

/** The scenarios every subject runs, in table order. */
export const COMMON = ['dispatch-one', 'dispatch-many', 'process-c1', 'process-c8', 'latency'] as const

/** Those and the ones a subject runs only when asked: a raw ceiling's single commit. */
export const RUNNABLE = [...COMMON, 'commit'] as const

export type CommonScenario = (typeof RUNNABLE)[number]

const RUNS: Record<CommonScenario, (make: AdapterFactory, sizes: CommonSizes) => Promise<Measured>> = {
  'dispatch-one': dispatchOne,
  'dispatch-many': dispatchMany,
  'process-c1': (make, sizes) => processPreloaded(make, sizes, 1),
  'process-c8': (make, sizes) => processPreloaded(make, sizes, 8),
  latency,
  commit: commitLatency,
}

/** One common scenario as a row; a system that cannot run jobs gets a row saying why. */
export async function runScenario(base: Base, make: AdapterFactory, sizes: CommonSizes, scenario: CommonScenario): Promise<Row> {
  if (scenario !== 'dispatch-one' && scenario !== 'dispatch-many' && scenario !== 'commit') {
    const probe = await make({ concurrency: 1 })
    const reason = await probe.cannotProcess?.()
    await probe.close()
    if (reason !== undefined) return { ...base, scenario, unavailable: reason }
  }
  return { ...base, scenario, ...(await RUNS[scenario](make, sizes)) }
}

export interface CommonOptions {
  /** Runs after each scenario (the browser deletes its databases there). */
  after?: () => Promise<void>
  /** Memory to report for the scenario that just ran, in MB. */
  memoryMB?: () => number | undefined
  /** The scenarios to run, in order. @default COMMON */
  scenarios?: readonly CommonScenario[]
}

/** The common scenarios (or those named), one after another, in this process. */
export async function runCommon(base: Base, make: AdapterFactory, sizes: CommonSizes, o: CommonOptions = {}): Promise<Row[]> {
  const rows: Row[] = []
  for (const scenario of o.scenarios ?? COMMON) {
    const row = await runScenario(base, make, sizes, scenario)
    const mb = row.unavailable === undefined ? o.memoryMB?.() : undefined
    rows.push(mb === undefined ? row : { ...row, rssMB: mb })
    await o.after?.()
  }
  return rows
}
