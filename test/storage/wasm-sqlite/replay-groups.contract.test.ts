import { join } from 'node:path'
import { describe } from 'vitest'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { replayGroupContract } from '../../../src/testing/contract/replay-groups.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()

describe('sqlite in memory', () => replayGroupContract(() => sqliteStore()))
describe('sqlite file in Node', () => replayGroupContract(() => sqliteStore({ path: join(dir(), 'jobs.db') })))
