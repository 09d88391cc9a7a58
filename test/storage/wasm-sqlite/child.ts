import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs a fixture script in a child Node process with tsx, collecting its stdout lines. */
export function runFixture(name: string, args: string[]): { child: ChildProcess; lines: string[]; line(prefix: string): Promise<string>; exited: Promise<number | null> } {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  const waiters: { prefix: string; resolve: (l: string) => void }[] = []
  let buf = ''
  let err = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      lines.push(l)
      for (const w of [...waiters]) if (l.startsWith(w.prefix)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(l)
      }
    }
  })
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    lines,
    exited,
    line: (prefix) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find((l) => l.startsWith(prefix))
        if (hit !== undefined) return resolve(hit)
        waiters.push({ prefix, resolve })
        void exited.then((code) => reject(new Error(`${name} exited (${code}) before printing "${prefix}": ${err}`)))
      }),
  }
}
