/**
 * The machine and the software a result was measured with, for the header of a results file.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { cpus, totalmem, type as osType, release } from 'node:os'

export function chromiumVersion(executable: string): string {
  const r = spawnSync(executable, ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : `unknown (${executable} --version failed)`
}

function git(...args: string[]): string {
  const r = spawnSync('git', args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : '?'
}

/** Markdown lines describing this machine; `extra` adds lines (Chromium, Redis). */
export function machineHeader(title: string, command: string, extra: string[] = []): string {
  const cpu = cpus()
  const lines = [
    `# ${title}`,
    '',
    `- Command: \`${command}\``,
    `- Date: ${new Date().toISOString()}; ferry commit ${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src').length > 0 ? ' (src/ modified)' : ''}`,
    `- CPU: ${cpu[0]?.model.trim() ?? '?'}, ${cpu.length} cores; memory ${Math.round(totalmem() / 2 ** 30)} GiB; ${osType()} ${release()}`,
    `- Node ${process.version}`,
    ...extra.map((l) => `- ${l}`),
  ]
  return lines.join('\n')
}
