import { lifecycleScenarios } from '../storage/idb/lifecycle-scenarios.js'

lifecycleScenarios('Chromium')
