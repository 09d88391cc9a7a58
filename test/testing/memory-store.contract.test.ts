import { memoryStore } from '../../src/core/memory-store.js'
import { storeContract } from '../../src/testing/index.js'

storeContract('memoryStore', () => memoryStore())
