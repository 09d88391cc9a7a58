import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'

export interface Fixture {
  child: ChildProcess
  lines: string[]
  /** The first line starting with `prefix`, once it is printed. */
  line(prefix: string): Promise<string>
  /** Writes a line to the child's stdin (with `stdin: true`). */
  send(line: string): void
  exited: Promise<number | null>
}

export interface FixtureOptions {
  /** Extra environment variables for the child. */
  env?: Record<string, string>
  /** Keep a pipe to the child's stdin open for `send`. */
  stdin?: boolean
  /** Run this JavaScript file with plain Node instead of the TypeScript fixture through tsx. */
  script?: string
}

/** Runs a fixture script in a child Node process with tsx, collecting its stdout lines. */
export function runFixture(name: string, args: string[], o: FixtureOptions = {}): Fixture {
  const script = o.script ?? fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
  const child = spawn(process.execPath, [...(o.script === undefined ? ['--import', 'tsx'] : []), script, ...args], {
    stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  })
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
  child.stdin?.on('error', () => undefined) // a killed child closes its end
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    lines,
    exited,
    send: (l) => void child.stdin?.write(`${l}\n`),
    line: (prefix) =>
      new Promise<string>((resolve, reject) => {
        const hit = lines.find((l) => l.startsWith(prefix))
        if (hit !== undefined) return resolve(hit)
        waiters.push({ prefix, resolve })
        void exited.then((code) => reject(new Error(`${name} exited (${code}) before printing "${prefix}": ${err}`)))
      }),
  }
}

export interface ThreadFixture {
  worker: Worker
  /** The next message the worker posts. */
  next(): Promise<unknown>
  post(message: unknown): void
  exited: Promise<number>
}

/** Runs a TypeScript fixture in a worker_thread of this process (through tsx's loader). */
export function runThread(name: string, data: unknown): ThreadFixture {
  const worker = new Worker(new URL('./fixtures/ts-worker.mjs', import.meta.url), {
    workerData: { script: new URL(`./fixtures/${name}`, import.meta.url).href, data },
  })
  const inbox: unknown[] = []
  const waiting: ((m: unknown) => void)[] = []
  worker.on('message', (m: unknown) => {
    const w = waiting.shift()
    if (w) w(m)
    else inbox.push(m)
  })
  const exited = new Promise<number>((resolve) => worker.on('exit', resolve))
  worker.on('error', (e) => {
    const w = waiting.shift()
    if (w) w({ crashed: String(e) })
    else inbox.push({ crashed: String(e) })
  })
  return {
    worker,
    exited,
    post: (m) => worker.postMessage(m),
    next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()) : new Promise((resolve) => waiting.push(resolve))),
  }
}
