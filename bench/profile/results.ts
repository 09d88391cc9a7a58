/**
 * bench/results/profile-<store>.md: a header that says how the profiles are taken and what the
 * categories hold, then a "before" and an "after" section. Writing one section leaves the
 * other as it is in the file.
 *
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CATEGORIES } from './categories.js'

export type Section = 'before' | 'after'

const SECTIONS: readonly Section[] = ['before', 'after']

const open = (s: Section) => `<!-- profile:${s} -->`
const close = (s: Section) => `<!-- /profile:${s} -->`

function header(title: string): string {
  return [
    `# Where the time goes: ${title}`,
    '',
    "Self time on the thread that runs ferry's engine, sampled while it processes pre-loaded no-op jobs, from `start()` until `stop()` has settled the last one (loading the jobs is left out). Taken by `npm run bench:profile` (bench/profile/): in Node with `node --cpu-prof`, in Chromium with Playwright's tracing (the V8 sampling profiler, `disabled-by-default-v8.cpu_profiler`), the run's window marked on the thread that runs it. A profiler slows what it samples: compare the shares, and a section with the other, not these rates with `npm run bench`.",
    '',
    'Each sampled frame goes to the first category that takes it:',
    '',
    ...CATEGORIES.map((c) => `- **${c.name}**: ${c.holds}`),
  ].join('\n')
}

/** Rewrites `file` with the header, `section` replaced by `body`, the other section kept. */
export function writeSection(dir: string, store: string, title: string, section: Section, body: string): string {
  const file = join(dir, `profile-${store}.md`)
  const old = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const parts = SECTIONS.map((s) => {
    const kept = new RegExp(`${open(s)}\\n([\\s\\S]*?)\\n${close(s)}`).exec(old)?.[1]
    const text = s === section ? body : (kept ?? `_Not taken yet: \`npm run bench:profile -- --section ${s}\`._`)
    return [`## ${s === 'before' ? 'Before' : 'After'}`, '', open(s), text, close(s)].join('\n')
  })
  writeFileSync(file, `${[header(title), ...parts].join('\n\n')}\n`)
  return file
}
