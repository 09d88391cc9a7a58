import { transactionalScenarios } from '../storage/idb/transactional-scenarios.js'

transactionalScenarios('Chromium')
