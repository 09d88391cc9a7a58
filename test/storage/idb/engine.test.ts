import 'fake-indexeddb/auto'
import { idbStore } from '../../../src/storage/idb/index.js'
import { engineScenarios } from './engine-scenarios.js'

engineScenarios('idbStore (fake-indexeddb)', (name) => idbStore({ name }))
