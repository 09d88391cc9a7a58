import { join } from 'node:path'
import { storeContract } from '../../../src/testing/store-contract.js'
import { sqliteStore } from '../../../src/storage/wasm-sqlite/index.js'
import { tempDirs } from './temp-dir.js'

const dir = tempDirs()

storeContract('sqlite in memory', () => sqliteStore())
storeContract('sqlite file in Node (synchronous normal)', () => sqliteStore({ path: join(dir(), 'jobs.db') }))
storeContract('sqlite file in Node (synchronous full)', () => sqliteStore({ path: join(dir(), 'jobs.db'), synchronous: 'full' }))
