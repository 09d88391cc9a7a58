/**
 * The machine and the software a result was measured with, for the header of a results file.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os'
import { quantile } from './stats.js'

export function chromiumVersion(executable: string): string {
  const r = spawnSync(executable, ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : `unknown (${executable} --version failed)`
}

function git(...args: string[]): string | undefined {
  const r = spawnSync('git', args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : undefined
}

/** The commit the run measures, and whether the code it ran differs from it. */
function commit(): string {
  const sha = git('rev-parse', '--short', 'HEAD')
  if (sha === undefined) return 'ferry commit unknown (not a git checkout)'
  const changed = git('status', '--porcelain', '--', 'src', 'bench', 'package.json', ':!bench/results')
  return `ferry commit ${sha}${changed === undefined || changed === '' ? '' : ' (with uncommitted changes in src/ or bench/)'}`
}

/**
 * The machine's 1-minute load average, sampled by the caller as a run goes (before each
 * subject): other work on the machine slows every subject that runs beside it.
 */
export class LoadSampler {
  readonly #samples: number[] = []

  sample(): void {
    this.#samples.push(loadavg()[0] ?? 0)
  }

  /** `before`: when the samples were taken. */
  line(before = 'each subject'): string {
    this.sample()
    const s = this.#samples
    const f = (x: number | undefined) => (x ?? 0).toFixed(2)
    const median = quantile(s, 0.5)
    return `Load average (1 min) before ${before}: min ${f(Math.min(...s))}, median ${f(median)}, max ${f(Math.max(...s))}, on ${cpus().length} cores (the benchmark itself keeps about one busy; the rest is other work on the machine)`
  }
}

/** Markdown lines describing this machine; `extra` adds lines (Chromium, Redis). */
export function machineHeader(title: string, command: string, extra: string[] = []): string {
  const cpu = cpus()
  const lines = [
    `# ${title}`,
    '',
    `- Command: \`${command}\``,
    `- Date: ${new Date().toISOString()}; ${commit()}`,
    `- CPU: ${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores; memory ${Math.round(totalmem() / 2 ** 30)} GiB; ${osType()} ${release()}`,
    `- Node ${process.version}`,
    ...extra.map((l) => `- ${l}`),
  ]
  return lines.join('\n')
}
