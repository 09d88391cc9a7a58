import 'fake-indexeddb/auto'
import { idbStore } from '../../../src/storage/idb/index.js'
import { stopScenarios } from './stop-scenarios.js'

stopScenarios('idbStore (fake-indexeddb)', (name) => idbStore({ name }))
