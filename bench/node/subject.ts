/**
 * One subject of the Node benchmark, run in a process of its own so that its memory, its
 * database files and any crash stay its own: `node --import tsx bench/node/subject.ts <name>
 * <out.json> <tmpdir>`. Writes its rows as JSON to out.json.
 *
 * @module
 */
import { writeFileSync } from 'node:fs'
import type { Row } from '../lib/result.js'
import { SUBJECTS } from './subjects.js'

const [name, out, dir] = process.argv.slice(2)
if (name === undefined || out === undefined || dir === undefined) throw new Error('usage: subject.ts <name> <out.json> <tmpdir>')
const run = SUBJECTS[name]
if (!run) throw new Error(`no subject ${name}; known: ${Object.keys(SUBJECTS).join(', ')}`)

let rows: Row[]
try {
  rows = await run(dir)
} catch (err) {
  rows = [{ scenario: 'dispatch-one', subject: name, kind: 'peer', unavailable: err instanceof Error ? err.message : String(err) }]
  console.error(err)
}
const peakMB = process.resourceUsage().maxRSS / 1024
writeFileSync(out, JSON.stringify(rows.map((r) => ({ rssMB: peakMB, ...r }))))
// Peers may leave timers and sockets behind; the rows are written.
process.exit(0)
