import 'fake-indexeddb/auto'
import { describe } from 'vitest'
import { idbStore } from '../../../src/storage/idb/index.js'
import { replayGroupContract } from '../../../src/testing/contract/replay-groups.js'

let n = 0
describe('idbStore (fake-indexeddb)', () => replayGroupContract(() => idbStore({ name: `replay-groups-${++n}` })))
