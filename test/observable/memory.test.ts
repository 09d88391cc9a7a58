import { memoryStore } from '../../src/index.js'
import { observableSuite } from './suite.js'

observableSuite('the memory store', () => memoryStore())
