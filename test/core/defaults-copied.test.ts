import { expect, it } from 'vitest'
import { job, type Backoff } from '../../src/index.js'
import { createTestQueue } from '../../src/testing/index.js'

it("copies the queue's default backoff: changing the object later changes no job", async () => {
  const backoff: Backoff = { type: 'fixed', delay: 10 }
  const q = createTestQueue({ startAt: 0, defaults: { backoff, retry: 1 } })
  let runs = 0
  q.register('flaky', () => {
    if (++runs === 1) throw new Error('first attempt fails')
  })
  const { id } = await q.dispatch(job('flaky', null))
  backoff.delay = 999_999
  await q.runUntilIdle()
  expect(await q.getJob(id)).toMatchObject({ state: 'delayed', runAt: 10 })
  await q.advance(10)
  await q.runUntilIdle()
  expect(await q.getJob(id)).toMatchObject({ state: 'succeeded', attempt: 2 })
  await q.close()
})
