import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

/** An SDK tracer whose finished spans are kept in memory, over Node's async context. */
export function memoryTracing() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  const tracer = provider.getTracer('test')
  return {
    exporter,
    provider,
    tracer,
    spans: (): ReadableSpan[] => exporter.getFinishedSpans(),
    named: (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name),
  }
}

let manager: AsyncLocalStorageContextManager | undefined

/** Registers the AsyncLocalStorage context manager once for the test file. */
export function useAsyncContext(): void {
  if (manager) return
  manager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(manager)
}

/** The parent span id of a finished span, if it has one. */
export function parentOf(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId
}
