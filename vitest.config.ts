import { playwright } from '@vitest/browser-playwright'
import { configDefaults, defineConfig } from 'vitest/config'

// Browser tests run in the system Chromium (Debian package `chromium`, see
// scripts/ensure-chromium.mjs). Playwright never downloads a browser here: `executablePath`
// points at the system one, and the flags keep it off the network.
const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium'

// The node project's tests that drive Chromium (end-to-end pages, the dashboard's screenshots):
// FERRY_NODE_ONLY=1 leaves them out, for runs that check other Node versions.
const chromiumDriven = ['test/e2e/**', 'test/dashboard/screenshots.test.ts']

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/**/*.browser.test.ts', ...(process.env['FERRY_NODE_ONLY'] ? chromiumDriven : [])],
          // A throwaway PostgreSQL server for the Postgres store's tests (test/helpers/postgres.ts),
          // started in the background; FERRY_TEST_POSTGRES_URL names a server to use instead.
          globalSetup: ['test/helpers/postgres-server.ts'],
        },
      },
      {
        // SQLite WASM finds its .wasm file next to its module: Vite must serve the package as is.
        optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
        test: {
          name: 'browser',
          include: ['test/**/*.browser.test.ts'],
          // A page cannot listen: the HTTP outbox tests' server runs in Node.
          globalSetup: ['test/browser/fixtures/http-server.setup.ts'],
          browser: {
            enabled: true,
            headless: true,
            provider: playwright({
              launchOptions: {
                executablePath: chromiumPath,
                args: [
                  '--no-sandbox',
                  '--disable-gpu',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--disable-sync',
                  '--disable-quic',
                  '--no-first-run',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
})
