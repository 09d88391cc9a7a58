/**
 * The Vitest functions the conformance suite registers its tests with, loaded only when the
 * suite runs: `ferry/testing` must stay importable where Vitest is not installed (the fake
 * and test queues work under any runner).
 *
 * @module
 */
type Vitest = typeof import('vitest')

const vitest: Vitest | undefined = await import('vitest').catch(() => undefined)

function need<K extends keyof Vitest>(name: K): Vitest[K] {
  if (!vitest) {
    return ((..._args: unknown[]) => {
      throw new Error(`storeContract runs under Vitest: install vitest (it was not found) to use ${name}`)
    }) as unknown as Vitest[K]
  }
  return vitest[name]
}

export const describe = need('describe')
export const it = need('it')
export const expect = need('expect')
export const beforeEach = need('beforeEach')
export const afterEach = need('afterEach')
export const vi = need('vi')
