/**
 * `npm run demo:web`: serves the photo outbox demo (this folder) and, in the same process, the
 * server it uploads to (server.ts).
 *
 * No COOP/COEP headers: the store on OPFS uses SQLite's `opfs-sahpool` VFS, which runs in a
 * dedicated worker without SharedArrayBuffer.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import { photoServer } from './server.js'

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Its own cache, apart from the tests' and Vitest's.
  cacheDir: fileURLToPath(new URL('../../node_modules/.vite-demo-web', import.meta.url)),
  plugins: [photoServer()],
  server: {
    // The page imports ferry from src/ as TypeScript.
    fs: { allow: [fileURLToPath(new URL('../..', import.meta.url))] },
  },
  optimizeDeps: {
    // SQLite WASM finds its .wasm file next to its module: it must be served as it is.
    exclude: ['@sqlite.org/sqlite-wasm'],
    // The packages the page and its worker import are ESM and served as they are: no
    // optimisation pass discovers one late (a worker's) and reloads the page mid-upload.
    noDiscovery: true,
    include: [],
  },
  worker: { format: 'es' },
})
