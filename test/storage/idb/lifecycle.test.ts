import 'fake-indexeddb/auto'
import { lifecycleScenarios } from './lifecycle-scenarios.js'

lifecycleScenarios('fake-indexeddb')
