/**
 * Sizes in Chromium. IndexedDB and OPFS commit far fewer transactions per second than a Node
 * file, so the scenarios keep Node's sizes but stop at a time limit, and their rows say
 * how far they got.
 *
 * @module
 */
import type { CommonSizes } from '../lib/scenarios.js'

export const BROWSER_SIZES = {
  dispatchOne: { jobs: 20_000, seconds: 3 },
  dispatchMany: { calls: 20, size: 1_000, seconds: 5 },
  process: { jobs: 20_000, seconds: 15 },
  latency: { samples: 200, gapMs: { min: 0, max: 20 } },
  chains: { chains: 1_000, steps: 10, seconds: 20 },
  batch: { jobs: 10_000, seconds: 20 },
  plain: { jobs: 10_000, seconds: 20 },
} as const satisfies CommonSizes & Record<string, unknown>

/**
 * OPFS commits sync the file: about 30 transactions a second here (PLATFORM.md), so the OPFS
 * subjects run smaller sizes.
 */
export const OPFS_SIZES = {
  dispatchOne: { jobs: 20_000, seconds: 3 },
  dispatchMany: { calls: 10, size: 1_000, seconds: 5 },
  process: { jobs: 2_000, seconds: 10 },
  latency: { samples: 50, gapMs: { min: 0, max: 20 } },
  chains: { chains: 100, steps: 10, seconds: 15 },
  batch: { jobs: 1_000, seconds: 15 },
  plain: { jobs: 1_000, seconds: 15 },
} as const satisfies CommonSizes & Record<string, unknown>
