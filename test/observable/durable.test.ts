import 'fake-indexeddb/auto'
import { join } from 'node:path'
import { idbStore } from '../../src/storage/idb/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.js'
import { tempDirs } from '../storage/wasm-sqlite/temp-dir.js'
import { observableSuite } from './suite.js'

const dir = tempDirs('ferry-observable-')
let n = 0

observableSuite('the SQLite file store', () => sqliteStore({ path: join(dir(), 'jobs.db') }))
observableSuite('the IndexedDB store (fake-indexeddb)', () => idbStore({ name: `observable-${++n}` }))
