/**
 * The profile page: `window.ferryProfile.run(store, concurrency, jobs)` runs one profiled run,
 * IndexedDB here on the page, SQLite on OPFS in a dedicated Worker (the only place
 * opfs-sahpool runs). The run's window is marked with `performance.mark` on the thread that
 * runs it, which the trace records beside that thread's samples.
 *
 * @module
 */
import '../json-probe.js'
import { idbStore } from '../../../src/storage/idb/index.js'
import { processForProfile, type ProfileRun } from '../run.js'
import { MARKS, type BrowserRun } from './marks.js'

function inWorker(run: BrowserRun): Promise<ProfileRun> {
  const worker = new Worker(new URL('./opfs.worker.ts', import.meta.url), { type: 'module' })
  return new Promise<ProfileRun>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ run?: ProfileRun; error?: string }>) => {
      worker.terminate()
      if (e.data.run) resolve(e.data.run)
      else reject(new Error(e.data.error ?? 'the worker failed'))
    }
    worker.onerror = (e) => {
      worker.terminate()
      reject(new Error(e.message))
    }
    worker.postMessage(run)
  })
}

async function run(r: BrowserRun): Promise<ProfileRun> {
  if (r.store === 'opfs') return inWorker(r)
  const store = idbStore({ name: `ferry-profile-${Date.now()}` })
  return processForProfile(store, { concurrency: r.concurrency, jobs: r.jobs, seconds: 20 }, (at) => void performance.mark(MARKS[at]))
}

declare global {
  interface Window {
    ferryProfile: { run(r: BrowserRun): Promise<ProfileRun>; ready(): Promise<void> }
  }
}

/** Loads the worker's modules once, so that Vite has seen them all before a traced run. */
async function ready(): Promise<void> {
  await inWorker({ store: 'opfs', concurrency: 1, jobs: 0 })
}

window.ferryProfile = { run, ready }
