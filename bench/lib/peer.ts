/**
 * Loading a peer library from bench/node_modules, or from an install of its own under bench/
 * (liteque has one, with the better-sqlite3 its project pins). The specifier is a variable on
 * purpose: the root project type-checks and lints bench/ without the peers installed, so each
 * peer is described by the few members the bench uses (`peer-types.ts`) instead of its own types.
 *
 * @module
 */
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

/** `install`: the folder under bench/ whose node_modules holds the peer. */
export async function importPeer<T>(name: string, install?: string): Promise<T> {
  const specifier: string =
    install === undefined ? name : pathToFileURL(createRequire(new URL(`../${install}/package.json`, import.meta.url)).resolve(name)).href
  return (await import(specifier)) as T
}
