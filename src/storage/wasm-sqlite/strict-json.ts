/**
 * The SQLite store keeps payloads, results and progress values as strict JSON: see
 * `core/strict-json.ts`, which `encryptedCodec` shares.
 *
 * @module
 */
export { strictJson } from '../../core/strict-json.js'
