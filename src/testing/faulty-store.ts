/**
 * `faultyStore(store, plan)`: a store that fails the calls a plan picks, the way real storage
 * fails, so that a test can show what an engine, or code built on a store, does then.
 *
 * Each fault is a `StorageError` of code `INJECTED_FAULT`, at one of three moments:
 * - `before`: the call throws before its transaction begins. Nothing is written.
 * - `inside`: the transaction runs and then throws, so the store rolls it back. Nothing is
 *   written, but the store's own code ran: this is the failure of a transaction that the
 *   storage refused at the end (a full disk at commit, an aborted IndexedDB transaction).
 *   Reaching inside a transaction needs the store's backend: for a store made with
 *   `defineStore` the fault is thrown inside `StoreBackend.write` (or `read`); a store written
 *   from scratch cannot be reached there, and an `inside` fault is injected as `before`.
 *   With `{ tx }` (a transaction the caller joined), the caller's transaction is rolled back too.
 * - `after`: the call commits, then throws: its reply is lost, as when a connection drops at
 *   commit. Whoever called cannot tell this from `before`; the store's watchers have heard the
 *   committed events.
 *
 * A plan is a list of rules (which method, which of its calls, which fault), or a function that
 * is asked about every call in the order the calls are made. `randomFaults` makes such a
 * function from a seed, so a property-based test can drive the faults and replay a failure.
 *
 * @example
 * // The first claim commits, but its reply is lost: the job still runs once, on time.
 * const store = faultyStore(memoryStore(), [{ method: 'settleAndClaim', nth: 1, kind: 'after' }])
 * const queue = createTestQueue({ store })
 * queue.register('email:send', send)
 * await queue.dispatch(job('email:send', { to }).retry(0))
 * await queue.advance(1000)
 * expect(send).toHaveBeenCalledOnce()
 *
 * @module
 */
import { defineStore, storeBackend } from '../core/define-store.js'
import { InvalidArgumentError, StorageError } from '../core/errors.js'
import type { StoreBackend } from '../core/store-backend.js'
import type { Store } from '../core/store.js'

/** When an injected fault strikes: see the module comment. */
export type FaultKind = 'before' | 'inside' | 'after'

const KINDS: readonly FaultKind[] = ['before', 'inside', 'after']

/** The code of every error a `faultyStore` injects. */
export const INJECTED_FAULT = 'INJECTED_FAULT'

const METHODS = [
  'insert',
  'settleAndClaim',
  'renew',
  'progress',
  'cancel',
  'replay',
  'replayGroup',
  'prune',
  'putSchedule',
  'deleteSchedule',
  'listSchedules',
  'getJob',
  'listJobs',
  'counts',
  'getChain',
  'getBatch',
] as const satisfies readonly (keyof Store)[]

/** The store methods a plan can fail: every call but `watch` and `close`. */
export type StoreMethod = (typeof METHODS)[number]

/** A call the plan is asked about. */
export interface FaultCall {
  method: StoreMethod
  /** Which call of this method it is, from 1. */
  nth: number
  /** Which call of the store it is, from 1. */
  call: number
  /** The call's first argument. */
  input: unknown
}

/** A rule of a plan: a call that matches every field given gets the fault. */
export interface FaultRule {
  /** @default every method */
  method?: StoreMethod | readonly StoreMethod[]
  /** Which calls of the method, from 1. @default every call */
  nth?: number | readonly number[]
  /** Any other condition, on the call and its input. */
  when?: (call: FaultCall) => boolean
  kind: FaultKind
  /** How many calls the rule fails at most. @default no limit */
  times?: number
}

/**
 * Which calls fail: rules (the first that matches a call and has `times` left applies), or a
 * function asked about every call, in call order, that names the fault or returns undefined.
 */
export type FaultPlan = readonly FaultRule[] | ((call: FaultCall) => FaultKind | undefined)

/** A fault that was injected. */
export interface InjectedFault {
  method: StoreMethod
  nth: number
  call: number
  /** `before` for an `inside` fault on a store whose transactions cannot be reached. */
  kind: FaultKind
}

export interface FaultyStore extends Store {
  /** The faults injected so far, in call order. */
  readonly injected: readonly InjectedFault[]
  /** Stops injecting faults: every later call goes through. */
  heal(): void
}

/** Whether `err` is a fault that a `faultyStore` injected. */
export function isInjectedFault(err: unknown): err is StorageError & { fault: FaultKind; method: StoreMethod } {
  return err instanceof StorageError && err.code === INJECTED_FAULT
}

/**
 * A plan that fails each call with probability `rate`, with a fault picked from `kinds`, from a
 * seeded generator: the same seed and the same calls give the same faults.
 * @example faultyStore(sqliteStore(), randomFaults({ seed, rate: 0.1, methods: ['settleAndClaim'] }))
 */
export function randomFaults(o: { seed: number; rate: number; kinds?: readonly FaultKind[]; methods?: readonly StoreMethod[] }): (call: FaultCall) => FaultKind | undefined {
  if (typeof o !== 'object' || o === null) throw new InvalidArgumentError('randomFaults takes { seed, rate, kinds?, methods? }')
  if (!Number.isInteger(o.seed)) throw new InvalidArgumentError(`seed must be a whole number, got ${String(o.seed)}`)
  if (!(typeof o.rate === 'number' && o.rate >= 0 && o.rate <= 1)) throw new InvalidArgumentError(`rate must be a number between 0 and 1, got ${String(o.rate)}`)
  const given: unknown = o.kinds ?? KINDS
  if (!Array.isArray(given) || given.length === 0) throw new InvalidArgumentError('kinds must name at least one fault')
  const kinds = (given as unknown[]).map((k) => checkKind(k, 'kinds'))
  const methods = o.methods === undefined ? undefined : new Set<StoreMethod>(checkMethods(o.methods, 'methods'))
  const next = mulberry32(o.seed)
  return (call) => {
    if (methods && !methods.has(call.method)) return undefined
    if (next() >= o.rate) return undefined
    return kinds[Math.floor(next() * kinds.length)]
  }
}

/** A small seeded generator of numbers in [0, 1) (mulberry32): enough for picking faults. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

function checkKind(kind: unknown, field: string): FaultKind {
  if (!(KINDS as readonly unknown[]).includes(kind)) throw new InvalidArgumentError(`${field}: a fault's kind is 'before', 'inside' or 'after', got ${describe(kind)}`)
  return kind as FaultKind
}

/** A method name or a non-empty list of them, each a store method a plan can fail. */
function checkMethods(method: unknown, field: string): readonly StoreMethod[] {
  const list: unknown = typeof method === 'string' ? [method] : method
  if (!Array.isArray(list) || list.length === 0) throw new InvalidArgumentError(`${field} must name a store method or a non-empty list of them, got ${describe(method)}`)
  for (const m of list as unknown[]) {
    if (!(METHODS as readonly unknown[]).includes(m)) throw new InvalidArgumentError(`${field}: no store method can fail as ${describe(m)}`)
  }
  return list as StoreMethod[]
}

/** A whole number >= 1. */
function isCount(n: unknown): n is number {
  return Number.isInteger(n) && (n as number) >= 1
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `[${v.map(describe).join(', ')}]` : String(v)
}

function planOf(plan: FaultPlan): (call: FaultCall) => FaultKind | undefined {
  if (typeof plan === 'function') {
    // The function's answer is checked per call: an unknown kind rejects that call, with no fault.
    return (call) => {
      const kind = plan(call)
      return kind === undefined ? undefined : checkKind(kind, `the plan's answer for call ${call.nth} of ${call.method}`)
    }
  }
  if (!Array.isArray(plan)) throw new InvalidArgumentError('a fault plan is a list of rules or a function')
  const rules = (plan as readonly unknown[]).map((rule, i) => {
    if (typeof rule !== 'object' || rule === null) throw new InvalidArgumentError(`rule ${i} of the plan must be an object like { method, nth, kind }, got ${describe(rule)}`)
    const r = rule as FaultRule
    const kind = checkKind(r.kind, `rule ${i} kind`)
    const methods = r.method === undefined ? undefined : new Set(checkMethods(r.method, `rule ${i} method`))
    let nthSet: Set<number> | undefined
    if (r.nth !== undefined) {
      const list: unknown = typeof r.nth === 'number' ? [r.nth] : r.nth
      if (!Array.isArray(list) || list.length === 0 || !list.every(isCount)) throw new InvalidArgumentError(`rule ${i} nth must be a whole number >= 1 or a non-empty list of them, got ${describe(r.nth)}`)
      nthSet = new Set(list)
    }
    if (r.times !== undefined && !isCount(r.times)) throw new InvalidArgumentError(`rule ${i} times must be a whole number >= 1, got ${describe(r.times)}`)
    if (r.when !== undefined && typeof r.when !== 'function') throw new InvalidArgumentError(`rule ${i} when must be a function of the call, got ${describe(r.when)}`)
    return { kind, methods, nthSet, when: r.when, left: r.times ?? Infinity }
  })
  return (call) => {
    for (const r of rules) {
      if (r.left <= 0) continue
      if (r.methods && !r.methods.has(call.method)) continue
      if (r.nthSet && !r.nthSet.has(call.nth)) continue
      if (r.when && !r.when(call)) continue
      r.left--
      return r.kind
    }
    return undefined
  }
}

/**
 * A store like `store` whose calls fail as `plan` says. It shares `store`'s data: calls that do
 * not fail go to `store` itself, and closing it closes `store`.
 */
export function faultyStore(store: Store, plan: FaultPlan): FaultyStore {
  const decide = planOf(plan)
  const injected: InjectedFault[] = []
  const counts = new Map<StoreMethod, number>()
  let calls = 0
  let healed = false
  const shadow = insideOf(store)

  const fault = (f: InjectedFault): StorageError => {
    const what = { before: 'before its transaction', inside: 'inside its transaction, which was rolled back', after: 'after it committed' }[f.kind]
    const err = new StorageError(`injected fault: call ${f.nth} of ${f.method} failed ${what}`, { code: INJECTED_FAULT })
    // Plain fields: they survive serializeError, so a queue:error event still says which fault.
    Object.assign(err, { fault: f.kind, method: f.method })
    return err
  }

  const wrap = (method: StoreMethod) => {
    return async (...args: unknown[]): Promise<unknown> => {
      // Decided before anything is awaited, so the plan sees the calls in the order they come.
      const nth = (counts.get(method) ?? 0) + 1
      counts.set(method, nth)
      const call = ++calls
      const asked = healed ? undefined : decide({ method, nth, call, input: args[0] })
      const invoke = (on: Store): Promise<unknown> => (on[method] as (...a: unknown[]) => Promise<unknown>).apply(on, args)
      if (asked === undefined) return invoke(store)
      const kind: FaultKind = asked === 'inside' && !shadow ? 'before' : asked
      const f = { method, nth, call, kind }
      if (kind === 'before') {
        injected.push(f)
        throw fault(f)
      }
      if (kind === 'inside') {
        injected.push(f)
        const err = fault(f)
        await invoke(shadow!.arm(err))
        // Every transaction of the shadow store throws; a call that made none has nothing to roll back.
        throw err
      }
      await invoke(store)
      injected.push(f)
      throw fault(f)
    }
  }

  const out: Record<string, unknown> = {}
  for (const m of METHODS) {
    if (typeof store[m] === 'function') out[m] = wrap(m)
  }
  if (store.watch) out['watch'] = store.watch.bind(store)
  if (store.liveness) out['liveness'] = store.liveness
  out['close'] = () => store.close()
  Object.defineProperty(out, 'injected', { get: () => injected })
  out['heal'] = () => void (healed = true)
  return out as unknown as FaultyStore
}

/**
 * For a store made with `defineStore`: a second store on the same backend, each of whose
 * transactions runs and then throws the error it was armed with, so the backend rolls it back.
 */
function insideOf(store: Store): { arm(err: Error): Store } | undefined {
  const backend = storeBackend(store)
  if (!backend) return undefined
  let armed: Error | undefined
  const failing: StoreBackend = new Proxy(backend, {
    get(target, prop) {
      if (prop === 'write' || prop === 'read') {
        const run = (Reflect.get(target, prop, target) as StoreBackend['write']).bind(target)
        return (fn: (tx: never) => Promise<unknown>, opts?: { tx?: unknown }) => {
          const err = armed ?? new StorageError('injected fault', { code: INJECTED_FAULT })
          return run(async (tx) => {
            await fn(tx as never)
            throw err
          }, opts)
        }
      }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
  // Never closed: closing it would close the backend that `store` still uses.
  const inside = defineStore(failing)
  return {
    arm(err) {
      armed = err
      return inside
    },
  }
}
