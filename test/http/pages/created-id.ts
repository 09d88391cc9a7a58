import type { JobContext } from '../../../src/index.js'
import type { HttpResult, RequestSpec } from '../../../src/http/index.js'

/** A handler's `prepare`: a chain step's `:id` becomes the id the step before got from the server. */
export function useCreatedId(spec: RequestSpec, ctx: JobContext): RequestSpec {
  const created = (ctx.previousResult as HttpResult | undefined)?.body as { id?: string } | undefined
  return created?.id === undefined ? spec : { ...spec, url: spec.url.replace(':id', created.id) }
}
