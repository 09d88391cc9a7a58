/**
 * Measures the IndexedDB store in the system Chromium: dispatch rates, no-op jobs per second at
 * a few concurrencies, and the cost of one claim on an empty database and on one crowded with
 * finished and delayed jobs. Not part of the test run:
 *
 *   npx tsx test/e2e/idb-throughput.ts
 */
import { startE2E } from './harness.js'

const e2e = await startE2E()
try {
  const page = await e2e.open('/test/e2e/pages/idb-throughput.html')
  page.setDefaultTimeout(300_000)
  console.log('one dispatch per transaction:', await page.evaluate(() => window.throughput.singleDispatch(500)))
  for (const concurrency of [1, 8, 32]) {
    console.log('no-op jobs:', await page.evaluate((c) => window.throughput.noop(5000, c), concurrency))
  }
  console.log('claim, empty:', await page.evaluate(() => window.throughput.claimCost(0, 0)))
  console.log('claim, crowded:', await page.evaluate(() => window.throughput.claimCost(20_000, 20_000)))
  if (e2e.pageErrors.length > 0) console.error(e2e.pageErrors)
} finally {
  await e2e.close()
}
