/**
 * The members of each peer library the bench uses, so that bench/ type-checks without
 * bench/node_modules (see `lib/peer.ts`).
 *
 * @module
 */

export interface BetterSqlite3Statement {
  run(...values: unknown[]): unknown
  get(...values: unknown[]): unknown
  all(...values: unknown[]): unknown[]
  /** Rows as their first column only. */
  pluck(on?: boolean): BetterSqlite3Statement
}
export interface BetterSqlite3Database {
  pragma(source: string, o?: { simple: boolean }): unknown
  exec(sql: string): unknown
  prepare(sql: string): BetterSqlite3Statement
  close(): void
}
export type BetterSqlite3 = { default: new (path: string) => BetterSqlite3Database }

export interface PQueue {
  add(fn: () => unknown): Promise<unknown>
  addAll(fns: (() => unknown)[]): Promise<unknown>
  start(): unknown
  pause(): void
  clear(): void
  onIdle(): Promise<void>
}
export type PQueueModule = { default: new (o: { concurrency: number; autoStart: boolean }) => PQueue }

export interface PlainjobQueue {
  add(type: string, data: unknown): { id: number }
  addMany(type: string, data: unknown[]): { ids: number[] }
  close(): void
}
export interface PlainjobWorker {
  start(): Promise<void>
  stop(): Promise<void>
}
export interface PlainjobModule {
  better(db: BetterSqlite3Database): unknown
  defineQueue(o: { connection: unknown; logger?: Logger }): PlainjobQueue
  defineWorker(type: string, fn: (job: unknown) => Promise<void> | void, o: { queue: PlainjobQueue; pollIntervall?: number; logger?: Logger }): PlainjobWorker
}
export interface Logger {
  error(message: string, ...meta: unknown[]): void
  warn(message: string, ...meta: unknown[]): void
  info(message: string, ...meta: unknown[]): void
  debug(message: string, ...meta: unknown[]): void
}

export interface LitequeDb {
  /** drizzle's session; its `client` is the better-sqlite3 connection. */
  session: { client: BetterSqlite3Database }
  transaction<T>(fn: () => T): T
}
export interface LitequeQueue {
  enqueue(payload: unknown): Promise<unknown>
  attemptDequeue(o: { timeoutSecs: number }): Promise<unknown>
}
export interface LitequeRunner {
  run(): Promise<void>
  stop(): void
}
export interface LitequeModule {
  buildDBClient(path: string, o: { runMigrations: boolean; walEnabled: boolean }): LitequeDb
  SqliteQueue: new (name: string, db: LitequeDb, o: { defaultJobArgs: { numRetries: number }; keepFailedJobs: boolean }) => LitequeQueue
  Runner: new (
    q: LitequeQueue,
    funcs: { run: (job: unknown) => Promise<void> },
    o: { pollIntervalMs: number; timeoutSecs: number; concurrency: number },
  ) => LitequeRunner
}

export interface RedisClient {
  quit(): Promise<unknown>
  flushall(): Promise<unknown>
}
export type IORedisModule = { default: new (o: { host: string; port: number; maxRetriesPerRequest: null }) => RedisClient }
export interface BullQueue {
  add(name: string, data: unknown): Promise<unknown>
  addBulk(jobs: { name: string; data: unknown }[]): Promise<unknown>
  close(): Promise<void>
}
export interface BullWorker {
  close(): Promise<void>
  waitUntilReady(): Promise<unknown>
}
export interface BullModule {
  Queue: new (name: string, o: { connection: RedisClient }) => BullQueue
  Worker: new (name: string, fn: (job: unknown) => Promise<void>, o: { connection: RedisClient; concurrency: number }) => BullWorker
}

export interface GraphileLogger {
  readonly _brand?: 'Logger'
}
export interface GraphileWorkerUtils {
  addJob(identifier: string, payload: unknown): Promise<unknown>
  addJobs(specs: readonly { identifier: string; payload: unknown }[]): Promise<unknown>
  release(): Promise<void>
}
export interface GraphileRunner {
  stop(): Promise<void>
}
export interface GraphileOptions {
  pgPool: unknown
  logger: GraphileLogger
}
export interface GraphileModule {
  Logger: new (factory: () => () => void) => GraphileLogger
  runMigrations(o: GraphileOptions): Promise<void>
  makeWorkerUtils(o: GraphileOptions): Promise<GraphileWorkerUtils>
  run(
    o: GraphileOptions & {
      concurrency: number
      noHandleSignals: boolean
      taskList: Record<string, (payload: unknown) => Promise<void>>
      preset?: { worker: { localQueue: { size: number }; completeJobBatchDelay: number } }
    },
  ): Promise<GraphileRunner>
}

export interface PgBossInstance {
  on(event: 'error' | 'warning', listener: (e: unknown) => void): unknown
  start(): Promise<unknown>
  stop(o?: { graceful?: boolean; close?: boolean; timeout?: number }): Promise<void>
  createQueue(name: string, o?: { notify?: boolean }): Promise<void>
  send(name: string, data: object): Promise<string | null>
  insert(name: string, jobs: { data: object }[]): Promise<unknown>
  work(
    name: string,
    o: { localConcurrency: number; batchSize: number; burstWhenBatchFull: boolean; pollingIntervalSeconds: number },
    handler: (jobs: unknown[]) => Promise<void>,
  ): Promise<string>
  offWork(name: string, o?: { wait?: boolean }): Promise<void>
}
export interface PgBossModule {
  PgBoss: new (o: { connectionString: string; max: number; useListenNotify: boolean }) => PgBossInstance
}
