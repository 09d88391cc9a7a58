import 'fake-indexeddb/auto'
import { idbStore } from '../../../src/storage/idb/index.js'
import { idbUpgradeStopScenario, stopScenarios } from './stop-scenarios.js'

const open = (name: string) => idbStore({ name })
stopScenarios('idbStore (fake-indexeddb)', open)
idbUpgradeStopScenario('idbStore (fake-indexeddb)', open)
