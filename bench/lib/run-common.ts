/**
 * Scenarios 1 to 3 on one system, as result rows: what most subjects run.
 *
 * @module
 */
import type { AdapterFactory } from './adapter.js'
import type { Row, ScenarioId } from './result.js'
import { dispatchMany, dispatchOne, latency, processPreloaded, type CommonSizes, type Measured } from './scenarios.js'

/** How a subject's rows are labelled. */
export type Base = Pick<Row, 'subject' | 'kind' | 'compareTo'>

/** `after` runs after each scenario (the browser deletes its databases there). */
export async function runCommon(base: Base, make: AdapterFactory, sizes: CommonSizes, after: () => Promise<void> = async () => undefined): Promise<Row[]> {
  const rows: Row[] = []
  const add = async (scenario: ScenarioId, m: Measured) => {
    rows.push({ ...base, scenario, ...m })
    await after()
  }
  await add('dispatch-one', await dispatchOne(make, sizes))
  await add('dispatch-many', await dispatchMany(make, sizes))
  const probe = await make({ concurrency: 1 })
  const reason = await probe.cannotProcess?.()
  await probe.close()
  if (reason !== undefined) {
    for (const scenario of ['process-c1', 'process-c8', 'latency'] as const) rows.push({ ...base, scenario, unavailable: reason })
    return rows
  }
  await add('process-c1', await processPreloaded(make, sizes, 1))
  await add('process-c8', await processPreloaded(make, sizes, 8))
  await add('latency', await latency(make, sizes))
  return rows
}

