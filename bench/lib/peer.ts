/**
 * Loading a peer library from bench/node_modules. The specifier is a variable on purpose: the
 * root project type-checks and lints bench/ without the peers installed, so each peer is
 * described by the few members the bench uses (`peer-types.ts`) instead of its own types.
 *
 * @module
 */
export async function importPeer<T>(name: string): Promise<T> {
  const specifier: string = name
  return (await import(specifier)) as T
}
