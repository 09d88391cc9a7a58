/**
 * The common shape every system under test is driven through: ferry on each store, the raw
 * storage ceilings and the peers. Scenarios (`scenarios.ts`) only speak to this.
 *
 * @module
 */

/** A no-op job handler; it is called once per job the system runs. */
export type Handler = () => void

export interface Adapter {
  /** Enqueues one job and resolves once the system says it is stored. */
  dispatch(i: number): Promise<unknown>
  /** Enqueues n jobs in the system's batch form (one transaction where it has one). */
  dispatchMany(n: number, offset: number): Promise<unknown>
  /** Starts running jobs with the handler, at the concurrency the adapter was made with. */
  start(handler: Handler): Promise<void>
  /** Stops running jobs; resolves when the work in flight is settled. */
  stop(): Promise<void>
  /** Releases everything (connections, files are left to the caller's temp dir). */
  close(): Promise<void>
  /** Set when dispatchMany is not one batch call but many single ones. */
  readonly manyNote?: string
  /** Anything the processing rows must say about how jobs were counted, read after a run. */
  processNote?(): string | undefined
  /** Why this system cannot run jobs here, found by trying once; undefined when it can. */
  cannotProcess?(): Promise<string | undefined>
}

/** Makes a fresh system (new database, new queue) for one scenario. */
export type AdapterFactory = (o: { concurrency: number }) => Promise<Adapter>
