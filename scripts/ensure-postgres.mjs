#!/usr/bin/env node
// Makes sure the PostgreSQL server programs for the Postgres store's tests are present, before
// `npm test`. The tests start a throwaway cluster of their own (test/helpers/postgres-server.ts):
// they need `initdb` and `postgres`, never a running server.
//
// - FERRY_TEST_POSTGRES_URL set (the tests use that server instead): exit 0.
// - /usr/lib/postgresql/<version>/bin/initdb found and `--version` runs: exit 0.
// - Otherwise, as root with apt-get (Debian/Ubuntu, CI containers): install the `postgresql`
//   package, without the cluster Debian would create and start (`create_main_cluster = false`),
//   and check again.
// - Otherwise: exit 1 with instructions.
//
// Plain Node ESM with no dependencies, so it runs before anything else is set up.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'

const root = '/usr/lib/postgresql'

/** @returns {string | undefined} "<initdb path>: <version line>" of the newest version that runs */
function serverVersion() {
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const initdb = `${root}/${version}/bin/initdb`
    if (!existsSync(initdb) || !existsSync(`${root}/${version}/bin/postgres`)) continue
    const result = spawnSync(initdb, ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 30_000,
    })
    if (!result.error && result.status === 0) return `${result.stdout.trim()} (${initdb})`
  }
  return undefined
}

/** @param {string} command */
function hasCommand(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/** @param {string[]} args */
function aptGet(args) {
  console.log(`ensure-postgres: apt-get ${args.join(' ')}`)
  const result = spawnSync('apt-get', args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
  return result.status === 0
}

if (process.env['FERRY_TEST_POSTGRES_URL']) {
  console.log('ensure-postgres: the tests use the server at FERRY_TEST_POSTGRES_URL')
  process.exit(0)
}

let version = serverVersion()
if (version !== undefined) {
  console.log(`ensure-postgres: ${version}`)
  process.exit(0)
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (isRoot && hasCommand('apt-get')) {
  console.log(`ensure-postgres: no PostgreSQL server in ${root}, installing it`)
  // Debian's package creates a cluster and starts it as a service: the tests never use it, and
  // a server nobody asked for must not keep running. postgresql-common reads this directory.
  mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true })
  writeFileSync('/etc/postgresql-common/createcluster.d/ferry-tests.conf', 'create_main_cluster = false\n')
  if (aptGet(['update']) && aptGet(['install', '-y', '--no-install-recommends', 'postgresql'])) {
    version = serverVersion()
    if (version !== undefined) {
      console.log(`ensure-postgres: ${version}`)
      process.exit(0)
    }
  }
}

console.error(
  `ensure-postgres: no PostgreSQL server programs in ${root}/<version>/bin.\n` +
    'The Postgres store tests start a throwaway server: install it with ' +
    '`sudo apt-get install -y postgresql` (Debian/Ubuntu), or set FERRY_TEST_POSTGRES_URL ' +
    'to the connection string of a server the tests may create schemas in.',
)
process.exit(1)
