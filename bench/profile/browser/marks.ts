/**
 * The names of the marks around a profiled run in Chromium, and what the page is asked to run.
 *
 * @module
 */
export const MARKS = { start: 'ferry-profile:start', end: 'ferry-profile:end' } as const

export interface BrowserRun {
  store: 'idb' | 'opfs'
  concurrency: number
  jobs: number
}
