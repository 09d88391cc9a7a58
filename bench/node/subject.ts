/**
 * One scenario of one subject of the Node benchmark, run in a process of its own so that its
 * memory, its database files and any crash stay its own: `node --import tsx
 * bench/node/subject.ts <name> <scenario> <out.json> <tmpdir>`. Writes its rows as JSON to
 * out.json, each with the process's peak resident set.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import { SCENARIOS, type Row, type ScenarioId } from '../lib/result.js'
import { SUBJECTS } from './subjects.js'

const [name, scenario, out, dir] = process.argv.slice(2)
if (name === undefined || scenario === undefined || out === undefined || dir === undefined) {
  throw new Error('usage: subject.ts <name> <scenario> <out.json> <tmpdir>')
}
const make = SUBJECTS[name]
if (!make) throw new Error(`no subject ${name}; known: ${Object.keys(SUBJECTS).join(', ')}`)
if (!(scenario in SCENARIOS)) throw new Error(`no scenario ${scenario}; known: ${Object.keys(SCENARIOS).join(', ')}`)
const id = scenario as ScenarioId

let rows: Row[]
try {
  rows = await make().run(id, dir)
} catch (err) {
  rows = [{ scenario: id, subject: name, kind: 'peer', unavailable: err instanceof Error ? err.message : String(err) }]
  console.error(err)
}
const peakMB = process.resourceUsage().maxRSS / 1024
writeFileSync(out, JSON.stringify(rows.map((r) => ({ rssMB: peakMB, ...r }))))
// Peers may leave timers and sockets behind; the rows are written.
process.exit(0)
