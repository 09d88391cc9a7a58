/**
 * How a subject of the Postgres benchmark is made: the common adapter, on the database at
 * `url` (made fresh for the scenario), at a concurrency per process.
 *
 * @module
 */
import type { Adapter } from '../../lib/adapter.js'

export type PgFactory = (o: { url: string; concurrency: number }) => Promise<Adapter>
