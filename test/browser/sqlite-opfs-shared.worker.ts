// The worker of a queue shared by the tabs, on OPFS SQLite: the file is named by the worker's name.
import { createQueue, type Queue } from '../../src/index.js'
import { sqliteStore } from '../../src/storage/wasm-sqlite/index.browser.js'
import { exposeQueue } from '../../src/workers/index.js'

async function openQueue(): Promise<Queue> {
  const store = sqliteStore({ path: self.name })
  await store.open()
  const queue = createQueue({ store })
  queue.register('x', () => 'ok')
  await queue.start()
  return queue
}
exposeQueue(openQueue())
