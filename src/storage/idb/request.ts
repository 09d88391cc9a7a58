/**
 * IndexedDB requests as promises, without the `idb` wrapper, for the requests of a store call's
 * transaction: in Chromium, `idb`'s per-request wrapping (a proxy, two listeners added and
 * removed) costs about as much as the put it wraps, and a store call may make thousands.
 *
 * The promise settles from the request's own `onsuccess`/`onerror`, so code awaiting it runs
 * while the transaction is still active, as it does with `idb`.
 *
 * @module
 */

export function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'))
  })
}

/**
 * Writes of one transaction that nobody waits for one by one. IndexedDB applies them in the
 * order they were made; `settled` waits for the last, which completes after all the others,
 * and rejects with the error of the first that failed (a failed write aborts the transaction,
 * so every later one fails too). Failures are heard once for the transaction, where they
 * bubble, instead of by a handler per write: only those of requests on `stores`, so that in an
 * application's transaction the application's own failed requests are not taken for ferry's.
 */
export class WriteQueue {
  #last: IDBRequest | undefined
  #error: Error | undefined

  constructor(tx: IDBTransaction, stores: readonly IDBObjectStore[]) {
    tx.addEventListener('error', (e) => {
      const r = e.target as IDBRequest
      if (r.source instanceof IDBObjectStore && stores.includes(r.source)) this.#error ??= r.error ?? undefined
    })
  }

  add(r: IDBRequest): void {
    this.#last = r
  }

  settled(): Promise<void> {
    const last = this.#last
    this.#last = undefined
    return new Promise((resolve, reject) => {
      const outcome = (): void => {
        const error = this.#error ?? last?.error ?? undefined
        if (error === undefined) resolve()
        else reject(error)
      }
      if (!last || last.readyState === 'done') return outcome()
      last.onsuccess = outcome
      last.onerror = () => {
        this.#error ??= last.error ?? new Error('IndexedDB request failed')
        outcome()
      }
    })
  }
}
