import { describe, expect, it } from 'vitest'
import {
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
