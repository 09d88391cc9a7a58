/**
 * Errors keep their class, `name` and `code` across the worker boundary. Comlink alone sends
 * only name, message and stack, so both sides install a `throw` handler that sends the
 * serialized form and rebuilds the ferry class on arrival.
 *
 * @module
 */
import * as Comlink from 'comlink'
import { deserializeError, serializeError } from '../core/errors.js'
import type { SerializedError } from '../core/types.js'

interface WireError {
  isError: boolean
  // A SerializedError when isError, else the thrown value as it was.
  value: unknown
}

let installed = false

/** Installs the handler once per realm; called by `exposeQueue` and `connectQueue`. */
export function installErrorTransfer(): void {
  if (installed) return
  installed = true
  // Comlink's own handler knows its private marker of thrown values: keep its test.
  const original = Comlink.transferHandlers.get('throw')
  if (!original) throw new Error('comlink has no throw handler to extend')
  const handler: Comlink.TransferHandler<unknown, WireError> = {
    canHandle: (v): v is unknown => original.canHandle(v),
    serialize: (thrown) => {
      const { value } = thrown as { value: unknown }
      const isError = value instanceof Error
      return [{ isError, value: isError ? serializeError(value) : value }, []]
    },
    deserialize: (wire) => {
      throw wire.isError ? deserializeError(wire.value as SerializedError) : wire.value
    },
  }
  Comlink.transferHandlers.set('throw', handler)
}
