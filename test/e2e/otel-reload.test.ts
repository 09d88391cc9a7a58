import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { reload, startE2E, type E2E } from './harness.js'

// What ferry/otel promises across a real reload: the trace context stored with a job is all the
// next page load needs; its tracer provider, exporter and queue are new.
describe('ferry/otel across a page reload (Chromium, end to end)', () => {
  let e2e: E2E | undefined
  beforeAll(async () => {
    e2e = await startE2E()
  }, 30_000)
  afterAll(async () => {
    await e2e?.close()
  })

  it('runs jobs dispatched before the reload as children of their dispatch spans, or in a new trace linked to them past linkAfterMs', async () => {
    if (!e2e) throw new Error('the harness did not start')
    const page = await e2e.open(`/test/e2e/pages/otel-reload.html?db=otel-reload-${Date.now()}`)
    const before = await page.evaluate(() => window.otelReload.loadedAt)

    // One click dispatches a job on each queue; no handler, no engine: both wait in IndexedDB.
    const ids = await page.evaluate(() => window.otelReload.dispatchInClick())
    const sent = await page.evaluate(() => window.otelReload.spans())
    const click = sent.find((s) => s.name === 'click')
    const dispatchOf = (queue: string) => sent.find((s) => s.name === 'ferry.dispatch' && s.attributes['messaging.destination.name'] === queue)
    const soonDispatch = dispatchOf('soon')
    const lateDispatch = dispatchOf('late')
    if (!click || !soonDispatch || !lateDispatch) throw new Error(`missing spans: ${JSON.stringify(sent.map((s) => s.name))}`)
    expect(soonDispatch).toMatchObject({ traceId: click.traceId, parentSpanId: click.spanId })
    expect(lateDispatch).toMatchObject({ traceId: click.traceId, parentSpanId: click.spanId })
    expect(soonDispatch.spanId).not.toBe(lateDispatch.spanId)
    expect(sent.filter((s) => s.name.startsWith('ferry.job'))).toEqual([])
    const waiting = await page.evaluate((id) => window.otelReload.getJob(id), ids.soon)
    expect(waiting).toMatchObject({ state: 'waiting', meta: { traceparent: `00-${click.traceId}-${soonDispatch.spanId}-01` } })

    await reload(page)
    expect(await page.evaluate(() => window.otelReload.loadedAt)).not.toBe(before)
    // A fresh provider and exporter: nothing of the first load is in it.
    expect(await page.evaluate(() => window.otelReload.spans())).toEqual([])

    // Run soon after its dispatch (linkAfterMs defaults to a minute): a child of its dispatch span.
    expect(await page.evaluate((id) => window.otelReload.runUntilDone('soon', id), ids.soon)).toMatchObject({ state: 'succeeded' })
    // Run with linkAfterMs 0: any time after the dispatch is "later", so a new trace with a link.
    expect(await page.evaluate((id) => window.otelReload.runUntilDone('late', id, 0), ids.late)).toMatchObject({ state: 'succeeded' })

    const ran = await page.evaluate(() => window.otelReload.spans())
    expect(ran.filter((s) => s.name === 'ferry.dispatch' || s.name === 'click')).toEqual([])
    const attemptOf = (id: string) => ran.find((s) => s.name === 'ferry.job work' && s.attributes['ferry.job.id'] === id)
    const soon = attemptOf(ids.soon)
    const late = attemptOf(ids.late)
    if (!soon || !late) throw new Error(`missing attempt spans: ${JSON.stringify(ran.map((s) => s.name))}`)

    expect(soon).toMatchObject({ traceId: soonDispatch.traceId, parentSpanId: soonDispatch.spanId, links: [] })
    expect(soon.attributes).toMatchObject({ 'ferry.job.type': 'work', 'ferry.job.queue': 'soon', 'ferry.job.attempt': 1, 'ferry.job.outcome': 'succeeded' })

    expect(late.parentSpanId).toBeUndefined()
    expect(late.traceId).not.toBe(lateDispatch.traceId)
    expect(late.links).toEqual([{ traceId: lateDispatch.traceId, spanId: lateDispatch.spanId }])
    expect(late.attributes).toMatchObject({ 'ferry.job.type': 'work', 'ferry.job.queue': 'late', 'ferry.job.attempt': 1, 'ferry.job.outcome': 'succeeded' })

    // The handler's own span sits under the attempt's, in the attempt's trace.
    expect(ran.find((s) => s.name === `handler ${ids.soon}`)).toMatchObject({ traceId: soon.traceId, parentSpanId: soon.spanId })
    expect(ran.find((s) => s.name === `handler ${ids.late}`)).toMatchObject({ traceId: late.traceId, parentSpanId: late.spanId })
    expect(e2e.pageErrors).toEqual([])
  }, 30_000)
})
