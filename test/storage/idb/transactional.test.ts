import 'fake-indexeddb/auto'
import { transactionalScenarios } from './transactional-scenarios.js'

transactionalScenarios('fake-indexeddb')
