#!/usr/bin/env node
// Makes sure a Chromium for the browser tests (Vitest browser mode through Playwright) is
// present, before `npm test`. Playwright is never asked to download one: the tests use the
// system Chromium at $CHROMIUM_PATH, or /usr/bin/chromium.
//
// - Chromium found and `--version` runs: exit 0.
// - Otherwise, as root with apt-get (Debian/Ubuntu, CI containers): install the `chromium`
//   package and check again.
// - Otherwise: exit 1 with instructions.
//
// Plain Node ESM with no dependencies, so it runs before anything else is set up.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const chromiumPath = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium'

/** @returns {string | undefined} the version line, if the binary exists and runs */
function chromiumVersion() {
  if (!existsSync(chromiumPath)) return undefined
  const result = spawnSync(chromiumPath, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  })
  if (result.error || result.status !== 0) return undefined
  // Debian's /usr/bin/chromium is a shell wrapper that may print noise on stderr; the
  // version is the line on stdout.
  return (
    result.stdout
      .split('\n')
      .map((line) => line.trim())
      .find((line) => /chrom/i.test(line)) ?? result.stdout.trim()
  )
}

/** @param {string} command */
function hasCommand(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** @param {string[]} args */
function aptGet(args) {
  console.log(`ensure-chromium: apt-get ${args.join(' ')}`)
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return result.status === 0
}

let version = chromiumVersion()
if (version !== undefined) {
  console.log(`ensure-chromium: ${version} (${chromiumPath})`)
  process.exit(0)
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && hasCommand('apt-get') && !process.env['CHROMIUM_PATH']) {
  console.log(`ensure-chromium: no working Chromium at ${chromiumPath}, installing it`)
  if (aptGet(['update']) && aptGet(['install', '-y', 'chromium'])) {
    version = chromiumVersion()
    if (version !== undefined) {
      console.log(`ensure-chromium: ${version} (${chromiumPath})`)
      process.exit(0)
    }
  }
}

console.error(
  `ensure-chromium: no working Chromium at ${chromiumPath}.\n` +
    'Chromium is needed for the browser tests: install it with ' +
    '`sudo apt-get install -y chromium` (Debian/Ubuntu) or set CHROMIUM_PATH to a Chromium binary.',
)
process.exit(1)
