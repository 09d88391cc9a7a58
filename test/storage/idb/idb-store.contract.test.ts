import 'fake-indexeddb/auto'
import { idbStore } from '../../../src/storage/idb/index.js'
import { storeContract } from '../../../src/testing/index.js'

let n = 0
storeContract('idbStore (fake-indexeddb)', () => idbStore({ name: `contract-${++n}` }))
