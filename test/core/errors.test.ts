import { describe, expect, it } from 'vitest'
import {
  JobDeferredError,
  JobTimeoutError,
  LeaseLostError,
  NotFoundError,
  QueueClosedError,
  QueueError,
  SerializationError,
  StorageError,
  StorageFullError,
  StoreLockedError,
  UnrecoverableError,
  deserializeError,
  serializeError,
  type SerializedError,
} from '../../src/index.js'

describe('errors', () => {
  it.each([
    [UnrecoverableError, 'UNRECOVERABLE'],
    [JobTimeoutError, 'JOB_TIMEOUT'],
    [LeaseLostError, 'LEASE_LOST'],
    [NotFoundError, 'NOT_FOUND'],
    [SerializationError, 'SERIALIZATION'],
    [StorageError, 'STORAGE'],
    [StorageFullError, 'STORAGE_FULL'],
    [StoreLockedError, 'STORE_LOCKED'],
    [QueueClosedError, 'QUEUE_CLOSED'],
  ] as const)('%o is a QueueError with a stable code', (Ctor, code) => {
    const e = new Ctor('boom')
    expect(e).toBeInstanceOf(QueueError)
    expect(e).toBeInstanceOf(Error)
    expect(e.code).toBe(code)
    expect(e.name).toBe(Ctor.name)
  })

  it('keeps the class, code and message through the plain-object form', () => {
    const back = deserializeError(serializeError(new StorageFullError('disk full', { cause: new Error('ENOSPC') })))
    expect(back).toBeInstanceOf(StorageFullError)
    expect(back).toBeInstanceOf(StorageError)
    expect(back).toMatchObject({ name: 'StorageFullError', code: 'STORAGE_FULL', message: 'disk full' })
  })

  it('keeps the name and code of errors that are not ferry errors', () => {
    const err = Object.assign(new TypeError('bad'), { code: 'E_BAD' })
    const back = deserializeError(serializeError(err))
    expect(back).not.toBeInstanceOf(QueueError)
    expect(back).toMatchObject({ name: 'TypeError', message: 'bad', code: 'E_BAD' })
  })

  it('serializes thrown values that are not errors', () => {
    expect(serializeError('plain string')).toEqual({ name: 'Error', message: 'plain string' })
    expect(serializeError(42)).toEqual({ name: 'Error', message: '42' })
  })

  it('keeps a more specific code given to an instance', () => {
    expect(new QueueError('x', { code: 'INVALID_STATE' }).code).toBe('INVALID_STATE')
  })
})

/** Every error class ferry's entries export, found by walking the exports so that none is left out. */
async function exportedErrorClasses(): Promise<(typeof QueueError)[]> {
  const entries = await Promise.all([
    import('../../src/index.js'),
    import('../../src/workers/index.js'),
    import('../../src/storage/idb/index.js'),
    import('../../src/storage/wasm-sqlite/index.js'),
    import('../../src/observable/index.js'),
    import('../../src/testing/index.js'),
  ])
  const found = new Set<typeof QueueError>()
  for (const entry of entries) {
    for (const v of Object.values(entry)) {
      if (typeof v === 'function' && (v === QueueError || v.prototype instanceof QueueError)) found.add(v as typeof QueueError)
    }
  }
  return [...found]
}

/** An instance of each class, built as the code that throws it builds it. */
function sample(Ctor: typeof QueueError): QueueError {
  if (Ctor === (JobDeferredError as unknown)) return new JobDeferredError(1500, 'over the rate limit')
  return new Ctor(`a ${Ctor.name}`)
}

describe('errors across storage and threads', async () => {
  const classes = await exportedErrorClasses()

  it('finds every error class of the public entries', () => {
    expect(classes.map((c) => c.name).sort()).toEqual(
      [
        'InvalidArgumentError',
        'JobCancelledError',
        'JobDeferredError',
        'JobSkippedError',
        'JobTimeoutError',
        'LeaseLostError',
        'NotFoundError',
        'QueueClosedError',
        'QueueError',
        'SerializationError',
        'StorageError',
        'StorageFullError',
        'StoreLockedError',
        'UnrecoverableError',
      ].sort(),
    )
  })

  it.each(classes.map((c) => [c.name, c] as const))('%s keeps its class, name, code and message', (_, Ctor) => {
    const original = sample(Ctor)
    // Through JSON too: what a store keeps and a worker message carries is the plain form.
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(original))) as SerializedError)
    expect(back).toBeInstanceOf(Ctor)
    expect(back.constructor).toBe(Ctor)
    expect(back).toMatchObject({ name: original.name, code: original.code, message: original.message })
    expect(back.stack).toBe(original.stack)
  })

  it('keeps the delay of a JobDeferredError', () => {
    const back = deserializeError(serializeError(new JobDeferredError(2500)))
    expect(back).toBeInstanceOf(JobDeferredError)
    expect((back as JobDeferredError).delayMs).toBe(2500)
    expect(back.message).toBe('deferred by 2500 ms')
  })

  it('keeps the plain data an error carries (the pid of a StoreLockedError)', () => {
    const locked = Object.assign(new StoreLockedError('the database is locked: process 4242 has it open'), { pid: 4242 })
    const back = deserializeError(JSON.parse(JSON.stringify(serializeError(locked))) as SerializedError)
    expect(back).toBeInstanceOf(StoreLockedError)
    expect(back).toMatchObject({ pid: 4242, code: 'STORE_LOCKED' })
  })

  it('keeps a specific code given to an instance of a subclass', () => {
    const err = new StorageError('IndexedDB database "app" was closed from outside', { code: 'DATABASE_CLOSED' })
    const back = deserializeError(serializeError(err))
    expect(back).toBeInstanceOf(StorageError)
    expect(back).toMatchObject({ code: 'DATABASE_CLOSED' })
  })
})
